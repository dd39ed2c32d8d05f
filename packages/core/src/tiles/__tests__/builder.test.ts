import { describe, expect, it } from 'vitest';
import { leafHash } from '../../hash.js';
import { subtreeRoot } from '../../merkle.js';
import { encodeBundle, TileBuilder, type TileFile } from '../builder.js';
import { entriesPath, tileIndexPath, tilePath } from '../path.js';

// The examples c2sp.org/tlog-tiles gives in its own text, and its tile
// definition checked against merkle.ts's MTH from scratch.

function build(size: number, entry = (i: number) => Buffer.from(`entry ${i}`)): TileFile[] {
  const files: TileFile[] = [];
  const b = new TileBuilder((f) => files.push(f));
  for (let i = 0; i < size; i++) b.add(entry(i));
  b.finish();
  return files;
}

describe('tile paths (§"Merkle Tree")', () => {
  it('encodes the index as x-prefixed 3-digit elements: the spec example 1234067 → x001/x234/067', () => {
    expect(tileIndexPath(1234067)).toBe('x001/x234/067');
    expect(tileIndexPath(0)).toBe('000');
    expect(tileIndexPath(999)).toBe('999');
    expect(tileIndexPath(1000)).toBe('x001/000');
    expect(tileIndexPath(1_000_000)).toBe('x001/x000/000');
    expect(tilePath(0, 1234067, 256)).toBe('tile/0/x001/x234/067');
    expect(tilePath(2, 5, 17)).toBe('tile/2/005.p/17');
    expect(entriesPath(1000, 3)).toBe('tile/entries/x001/000.p/3');
  });

  it('refuses what the spec does not allow: level > 63, width 0 or > 256, negative index', () => {
    expect(() => tilePath(64, 0, 256)).toThrow(RangeError);
    expect(() => tilePath(0, 0, 0)).toThrow(RangeError);
    expect(() => tilePath(0, 0, 257)).toThrow(RangeError);
    expect(() => tileIndexPath(-1)).toThrow(RangeError);
  });
});

describe('TileBuilder', () => {
  it('gives the spec example: size 70,000 is 273 full level-0 tiles, partial 112, one full level-1, partial 17, partial level-2 of 1', () => {
    const tiles = build(70_000)
      .filter((f) => f.path.startsWith('tile/') && !f.path.startsWith('tile/entries/'))
      .map((f) => f.path);
    const full0 = tiles.filter((p) => /^tile\/0\/\d{3}$/.test(p));
    expect(full0.length).toBe(273);
    expect(tiles.filter((p) => p.startsWith('tile/0/') && p.includes('.p/'))).toEqual(['tile/0/273.p/112']);
    expect(tiles.filter((p) => p.startsWith('tile/1/'))).toEqual(['tile/1/000', 'tile/1/001.p/17']);
    expect(tiles.filter((p) => p.startsWith('tile/2/'))).toEqual(['tile/2/000.p/1']);
    expect(tiles.length).toBe(273 + 1 + 2 + 1);
  });

  it('size 256 is a full level-0 tile and a partial level-1 tile of width 1 (spec example); size 0 is nothing', () => {
    expect(build(256).map((f) => f.path)).toEqual(['tile/entries/000', 'tile/0/000', 'tile/1/000.p/1']);
    expect(build(0)).toEqual([]);
  });

  it('each tile hash is MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l]) computed from scratch', () => {
    const size = 256 * 256 + 256 * 3 + 5;
    const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
    const leaf = (i: number) => leaves[i]!;
    for (const f of build(size)) {
      const m = /^tile\/(\d+)\/(\d{3})(?:\.p\/(\d+))?$/.exec(f.path.replace(/x(\d{3})\//g, '$1'));
      if (!m) continue; // entry bundles
      const [level, n] = [Number(m[1]), Number(m[2])];
      const span = 256 ** level;
      for (let i = 0; i * 32 < f.bytes.length; i++) {
        const lo = (n * 256 + i) * span;
        expect(
          f.bytes.subarray(i * 32, i * 32 + 32).equals(Buffer.from(subtreeRoot(leaf, lo, lo + span))),
        ).toBe(true);
      }
    }
  });

  it('bundles entries as big-endian uint16 length + bytes, and refuses a 65,536-byte entry instead of truncating it', () => {
    expect(
      encodeBundle([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(0x102, 7)], 0).subarray(0, 8),
    ).toEqual(Buffer.from([0, 2, 0x61, 0x62, 0, 0, 1, 2]));
    expect(encodeBundle([Buffer.alloc(0xffff)], 0).length).toBe(0x10001);
    expect(() => encodeBundle([Buffer.alloc(0x10000)], 512)).toThrow(/record 512 is 65536 bytes/);
    const b = new TileBuilder(() => {});
    b.add(Buffer.from('x'));
    expect(() => b.add(Buffer.alloc(0x10000))).toThrow(/record 1 is 65536 bytes/);
  });
});
