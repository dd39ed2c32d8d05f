import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorise } from '../chain/erased.js';
import { isSealogError } from '../errors.js';
import { leafHash } from '../hash.js';
import { generateKey, parseSignerKey } from '../note/keys.js';
import { verifyNote } from '../note/note.js';
import { TIME_UNKNOWN } from '../time.js';
import { erasureEntry, erasureNoteOf, markerEntry, markerOf, parseErasure, signErasure } from './erasure.js';
import { fileCheckpointKey } from './file.js';

const rows = [
  { seq: 3, leaf: leafHash(Buffer.from('{"a":1}')) },
  { seq: 9, leaf: leafHash(Buffer.from('{"a":2}')) },
];
const statement = {
  origin: 'example.com/audit',
  size: 12,
  root: Buffer.alloc(32, 7),
  reason: 'DSR-1042',
  time: 1_700_000_000_000,
  rows,
};

describe('erasure statement', () => {
  it('round-trips through the note and the ledger entry, signed by the log key', async () => {
    const key = fileCheckpointKey(parseSignerKey(generateKey('example.com/audit').privateKey));
    const note = await signErasure(statement, key);
    const parsed = parseErasure(note);
    expect(parsed).toMatchObject({
      origin: 'example.com/audit',
      size: 12,
      reason: 'DSR-1042',
      time: 1_700_000_000_000,
    });
    expect(parsed.rows).toEqual(rows);
    expect(verifyNote(note, [key.log.verifierKey]).verified).toHaveLength(1);
    const entry = erasureEntry(note, statement, 5).entry.toString('utf8');
    expect(entry.startsWith('{"_sealog":{"erasure":')).toBe(true);
    expect(erasureNoteOf(entry)).toBe(note);
  });

  it('refuses unsorted, duplicate, out-of-size rows and multi-line reasons', async () => {
    const key = fileCheckpointKey(parseSignerKey(generateKey('example.com/audit').privateKey));
    const text = async (s: typeof statement) => signErasure(s, key);
    await expect(text({ ...statement, reason: 'a\nerase 1 x' })).rejects.toThrow(/one line/);
    const swapped = (await text(statement)).replace('erase 3 ', 'erase 10 ');
    expect(() => parseErasure(swapped)).toThrow(/ascending/);
    const beyond = (await text(statement)).replace('erase 9 ', 'erase 12 ');
    expect(() => parseErasure(beyond)).toThrow(/not below the size/);
  });

  it('never throws anything but a SealogError on hostile text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.nat({ max: 6 }), (junk, line) => {
        const base =
          'sealog erasure/v1\norigin o\nsize 5\nroot AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nreason r\ntime 1\nerase 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'.split(
            '\n',
          );
        base[line] = junk;
        try {
          parseErasure(
            `${base.join('\n')}\n— o AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`,
          );
        } catch (err) {
          expect(isSealogError(err)).toBe(true);
        }
      }),
    );
  });
});

describe('erasure marker', () => {
  it('is recognised only byte for byte as written', () => {
    expect(markerOf(markerEntry(21, 1_700_000_000_123))).toBe(21);
    expect(markerOf(markerEntry(0, TIME_UNKNOWN))).toBe(0);
    expect(markerEntry(0, TIME_UNKNOWN).toString()).toBe('{"_sealog":{"erased":{"by":0}}}');
    for (const near of [
      '{"_sealog":{"erased":{"by":21}},"time":-0}',
      '{"_sealog":{"erased":{"by":021}}}',
      '{"_sealog":{"erased":{"by":21}} }',
      '{"_sealog":{"erased":{"by":21,"x":1}}}',
      '{"_sealog":{"erased":{"by":21}},"time":1.5}',
      `{"_sealog":{"erased":{"by":21}},"time":${TIME_UNKNOWN}}`,
    ]) {
      expect(markerOf(Buffer.from(near)), near).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const by = markerOf(bytes);
        if (by !== undefined) expect(markerOf(markerEntry(by, 0))).toBe(by);
      }),
    );
  });
});

describe('authorise', () => {
  it('accepts a signed statement once: a copy, a statement before its own size, or an unsigned one authorise nothing', async () => {
    const key = fileCheckpointKey(parseSignerKey(generateKey('example.com/audit').privateKey));
    const note = await signErasure(statement, key);
    const other = await signErasure({ ...statement, time: 2 }, key);
    const a = authorise(
      [
        { seq: 11, note: other }, // its size 12 lies beyond its own place
        { seq: 20, note },
        { seq: 25, note },
        { seq: 30, note: other },
      ],
      () => true,
    );
    expect(a.accepted.map((x) => x.seq)).toEqual([20, 30]);
    expect(a.problems.map((p) => p.seq)).toEqual([11, 25]);
    expect(a.leaves.leafOf(3, markerEntry(20, 0))?.leaf).toEqual(rows[0]!.leaf);
    expect(a.leaves.leafOf(3, markerEntry(25, 0))).toBeUndefined();
    expect(a.leaves.leafOf(4, markerEntry(20, 0))).toBeUndefined();
    const unsigned = authorise([{ seq: 20, note }], () => false);
    expect(unsigned.accepted).toEqual([]);
    expect(unsigned.leaves.size).toBe(0);
  });
});
