import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { OwnKey } from '../chain/trust.js';
import { splitAnchorNotes } from '../checkpoint/anchor.js';
import { sealHead } from '../checkpoint/seal.js';
import { openCheckpoint, signCheckpoint } from '../checkpoint/signed.js';
import type { SealogError } from '../errors.js';
import { leafHash } from '../hash.js';
import { rootFromLeaves } from '../merkle.js';
import { generateKey, parseSignerKey } from '../note/keys.js';
import { validateSinkOptions } from '../options.js';
import { openSink } from '../sink.js';
import type { PendingEntry, WriterTrust } from '../store/types.js';
import { generateWitnessKey } from '../witness/key.js';
import { parseBinding } from './binding.js';
import { createSegment, linkSegment } from './create.js';
import { listSegments, segmentAnchorFile, segmentFileName } from './layout.js';
import { Spare } from './spare.js';
import { BUDGETS_FILE, SegmentedStore, type SegmentedStoreOptions } from './store.js';

const origin = 'example.com/segments';
const key = generateKey(origin);
const signer = parseSignerKey(key.privateKey);

function trust(): WriterTrust & { diverged: SealogError[] } {
  const diverged: SealogError[] = [];
  return {
    own: new OwnKey(signer.verifierKey, origin),
    heads: [],
    onDiverge: (e) => diverged.push(e),
    diverged,
  };
}

const pad = 'x'.repeat(900);
/** Appends batches of 10 to `s` from record `n` until it reaches segment `index`; returns the next n. */
function fill(s: SegmentedStore, index: number, n = 0): number {
  while (s.current.index < index) {
    s.append(batch(n, 10));
    n += 10;
  }
  return n;
}

const batch = (from: number, n: number): PendingEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    entry: Buffer.from(JSON.stringify({ n: from + i, pad })),
    ts: 1_700_000_000_000 + from + i,
  }));

/** Every segment's entries, in index order, read straight from the files. */
function segments(dir: string): { index: number; entries: Buffer[] }[] {
  return listSegments(dir).slots.map((s) => {
    const db = new Database(s.file!, { readonly: true });
    try {
      const rows = db.prepare('SELECT entry FROM records ORDER BY seq').all() as { entry: Buffer }[];
      return { index: s.index, entries: rows.map((r) => r.entry) };
    } finally {
      db.close();
    }
  });
}

/** Checks every binding against the previous segment's records, hashed here. Returns the record numbers. */
function checkBindings(dir: string): number[] {
  const segs = segments(dir);
  let base = 0;
  const ns: number[] = [];
  for (const [i, s] of segs.entries()) {
    const b = parseBinding(s.entries[0]!);
    expect(b, `segment ${s.index}`).toMatchObject({ index: s.index, base });
    if (i === 0) expect(b).toEqual({ index: 1, base: 0 });
    else {
      const prev = segs[i - 1]!.entries;
      const root = rootFromLeaves(prev.map((e) => leafHash(e)));
      expect(typeof b === 'object' && b.prev).toEqual({ size: prev.length, root: new Uint8Array(root) });
    }
    base += s.entries.length;
    for (const e of s.entries.slice(1)) ns.push((JSON.parse(e.toString()) as { n: number }).n);
  }
  return ns;
}

const open = (dir: string, o: Partial<SegmentedStoreOptions> = {}) =>
  new SegmentedStore(dir, { segments: { maxBytes: 64 * 1024 }, ...o });

describe('SegmentedStore', () => {
  it('rotates by size; each segment binds the previous one at the head derived from its records', async () => {
    const dir = join(tempDir(), 'audit');
    const s = open(dir, { trust: trust() });
    let n = 0;
    let last = 0;
    while (s.current.index < 4) {
      const r = s.append(batch(n, 20));
      // Global positions continue across segments: base + seq.
      expect(r.firstSeq).toBe(r.size - 20);
      expect(r.size).toBeGreaterThan(last);
      last = r.size;
      n += 20;
    }
    await s.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.db'))).toEqual([1, 2, 3, 4].map(segmentFileName));
    expect(checkBindings(dir)).toEqual(Array.from({ length: n }, (_, i) => i));
    // Rotation happens once the segment's pages reached maxBytes (one batch at most beyond it).
    for (const i of [1, 2, 3]) {
      const size = statSync(join(dir, segmentFileName(i))).size;
      expect(size).toBeGreaterThanOrEqual(64 * 1024);
      expect(size).toBeLessThan(64 * 1024 + 20 * 1024 + 8192);
    }
  });

  it('rotates by age, counted from the binding row, with an injected clock', async () => {
    const dir = join(tempDir(), 'audit');
    let now = 1_000_000;
    const s = new SegmentedStore(dir, { segments: { maxAgeMs: 60_000 }, now: () => now });
    s.append(batch(0, 3));
    now += 59_999;
    s.append(batch(3, 3));
    expect(s.current.index).toBe(1);
    now += 1;
    s.append(batch(6, 3));
    expect(s.current).toMatchObject({ index: 2, base: 7 });
    // An idle segment holding only its binding row is not rotated away.
    now += 600_000;
    await s.close();
    const again = new SegmentedStore(dir, { segments: { maxAgeMs: 60_000 }, now: () => now });
    expect(again.current.index).toBe(2);
    again.append(batch(9, 1));
    expect(again.current.index).toBe(3);
    await again.close();
    const segs = segments(dir);
    expect(JSON.parse(segs[1]!.entries[0]!.toString()).time).toBe(1_060_000);
    expect(checkBindings(dir)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('reopens in the newest segment and goes on appending there', async () => {
    const dir = join(tempDir(), 'audit');
    const t = trust();
    const s = open(dir, { trust: t });
    const n = fill(s, 2);
    await s.close();
    const again = open(dir, { trust: t });
    expect(again.current.index).toBe(2);
    again.append(batch(n, 5));
    expect(again.head().size).toBeGreaterThan(5);
    await again.close();
    expect(t.diverged).toEqual([]);
    expect(checkBindings(dir)).toEqual(Array.from({ length: n + 5 }, (_, i) => i));
  });

  it('refuses to sign over a next segment whose binding was forged, and keeps its records', async () => {
    const dir = join(tempDir(), 'audit');
    const s = open(dir, { trust: trust() });
    s.append(batch(0, 5));
    await s.close();
    // Another "writer" closes segment 1 and creates segment 2 bound to a made-up head.
    const db = new Database(join(dir, segmentFileName(1)));
    db.prepare('INSERT INTO segment_close (id, size, closed_at) VALUES (0, 6, 0)').run();
    db.close();
    createSegment(dir, { index: 2, base: 6, prev: { size: 6, root: new Uint8Array(32).fill(9) } }, 0);
    const t = trust();
    const again = open(dir, { trust: t });
    expect(again.current.index).toBe(2);
    expect(t.diverged).toHaveLength(1);
    expect(t.diverged[0]!.code).toBe('E_TAMPER');
    expect(t.diverged[0]!.message).toMatch(/root for segment 1 differs/);
    expect(() => again.head()).toThrow(/nothing will be signed/);
    await expect(sealHead(again, signer)).rejects.toThrow(/nothing will be signed/);
    again.append(batch(5, 2));
    await again.close();
    expect(segments(dir)[1]!.entries).toHaveLength(3);
  });

  it('a writer whose segment another writer closed follows into the same next segment', async () => {
    const dir = join(tempDir(), 'audit');
    const a = open(dir, { trust: trust() });
    const tb = trust();
    const b = open(dir, { trust: tb });
    // a rotates; b's next append finds segment 1 closed inside its transaction and follows.
    let n = fill(a, 2);
    expect(b.current.index).toBe(1);
    b.append(batch(n, 10));
    n += 10;
    expect(b.current.index).toBe(2);
    // Both due at once: one creates segment 3 (link), the other checks it and uses it.
    while (a.current.index < 3 || b.current.index < 3) {
      a.append(batch(n, 10));
      b.append(batch(n + 10, 10));
      n += 20;
    }
    await Promise.all([a.close(), b.close()]);
    expect(tb.diverged).toEqual([]);
    expect(checkBindings(dir).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('after a crash between close and the next segment, the next writer creates it and seals the closed one', async () => {
    const dir = join(tempDir(), 'audit');
    const anchorFile = join(dir, '..', 'anchor.txt');
    const s = open(dir, { trust: trust(), anchorFile });
    s.append(batch(0, 30));
    await s.close();
    // The close marker is committed, then the writer dies.
    const db = new Database(join(dir, segmentFileName(1)));
    db.prepare('INSERT INTO segment_close (id, size, closed_at) VALUES (0, 31, 0)').run();
    db.close();
    const t = trust();
    const again = open(dir, { trust: t, anchorFile });
    expect(again.current.index).toBe(2);
    await sealHead(again, signer);
    await again.close();
    expect(t.diverged).toEqual([]);
    // Segment 1 got its final checkpoint at exactly its size, in the file and its own anchor.
    const notes = splitAnchorNotes(readFileSync(segmentAnchorFile(anchorFile, 1), 'utf8'));
    const sizes = notes.map((note) => openCheckpoint(note, [key.verifierKey], { origin }).checkpoint.size);
    expect(sizes).toEqual([31]);
    expect(existsSync(segmentAnchorFile(anchorFile, 2))).toBe(true);
    expect(checkBindings(dir)).toHaveLength(30);
  });

  it('a closed segment left unsealed is sealed at its final size by the next writer that opens the directory', async () => {
    const dir = join(tempDir(), 'audit');
    const s = open(dir, { trust: trust() });
    fill(s, 3);
    // Closed without sealing (no sealer ran): segments 1 and 2 have no checkpoint.
    await s.close();
    const again = open(dir, { trust: trust() });
    await sealHead(again, signer);
    await again.close();
    for (const seg of segments(dir).slice(0, 2)) {
      const db = new Database(join(dir, segmentFileName(seg.index)), { readonly: true });
      const sizes = (db.prepare('SELECT size FROM checkpoints').all() as { size: number }[]).map(
        (r) => r.size,
      );
      db.close();
      expect(sizes, `segment ${seg.index}`).toEqual([seg.entries.length]);
    }
  });

  it('links the next segment built ahead (no fsync while appending) and writes its binding as its first commit', async () => {
    const dir = join(tempDir(), 'audit');
    const t = trust();
    const s = open(dir, { trust: t });
    const spares = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    let n = 0;
    while (s.current.index < 4) {
      // Time for the spare to be built and synced between batches, as between a writer's commits.
      await new Promise((r) => setTimeout(r, 20));
      expect(spares().length).toBeLessThanOrEqual(1);
      s.append(batch(n, 10));
      n += 10;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(spares()).toEqual([expect.stringMatching(/^\.seg-000005\.db\.\d+\.[0-9a-f]+\.tmp$/)]);
    await s.close();
    expect(spares()).toEqual([]);
    expect(t.diverged).toEqual([]);
    expect(checkBindings(dir)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it.each([true, false])(
    'binds an empty newest segment its creator died before binding (signing: %s)',
    async (signing) => {
      const dir = join(tempDir(), 'audit');
      const s = open(dir, signing ? { trust: trust() } : {});
      s.append(batch(0, 8));
      await s.close();
      const db = new Database(join(dir, segmentFileName(1)));
      db.prepare('INSERT INTO segment_close (id, size, closed_at) VALUES (0, 9, 0)').run();
      db.close();
      const spare = new Spare(dir, 2, 0);
      expect(linkSegment(spare.path, join(dir, segmentFileName(2)))).toBe(true);
      const t = trust();
      const again = open(dir, signing ? { trust: t } : {});
      expect(again.current).toMatchObject({ index: 2, base: 9 });
      again.append(batch(8, 2));
      await again.close();
      expect(t.diverged).toEqual([]);
      expect(checkBindings(dir)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    },
  );

  it('checks the binding after a pruned segment against the final checkpoint in its tombstone', async () => {
    const dir = join(tempDir(), 'audit');
    const s = open(dir, { trust: trust() });
    fill(s, 3);
    await sealHead(s, signer); // seals segments 1 and 2 at their final sizes
    await s.close();
    const db = new Database(join(dir, segmentFileName(2)), { readonly: true });
    const note = (
      db.prepare('SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1').get() as { note: string }
    ).note;
    db.close();
    // Pruned: the file goes, its final checkpoint stays (as `sealog prune` writes it).
    rmSync(join(dir, segmentFileName(2)));
    writeFileSync(join(dir, 'seg-000002.tomb'), note);
    const t = trust();
    await open(dir, { trust: t }).close();
    expect(t.diverged).toEqual([]);
    // A tombstone whose note another key signed proves nothing: refused.
    const other = generateKey(origin);
    const forged = signCheckpoint(
      openCheckpoint(note, [key.verifierKey], { origin }).checkpoint,
      parseSignerKey(other.privateKey),
      1,
    );
    writeFileSync(join(dir, 'seg-000002.tomb'), forged);
    const t2 = trust();
    await open(dir, { trust: t2 }).close();
    expect(t2.diverged.map((e) => e.message)).toEqual([
      expect.stringMatching(/tombstone .* holds no checkpoint this key signed/),
    ]);
  });

  it('removes temp files of writers that died while building a segment, not of live ones', async () => {
    const dir = join(tempDir(), 'audit');
    await open(dir).close();
    const dead = join(dir, '.seg-000002.db.999999999.abcdef.tmp');
    const live = join(dir, `.seg-000002.db.${process.pid}.abcdef.tmp`);
    writeFileSync(dead, 'torn');
    writeFileSync(live, 'building');
    await open(dir).close();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('refuses a path that is a regular file, and a newest segment that is only a tombstone', () => {
    const d = tempDir();
    const file = join(d, 'audit.db');
    writeFileSync(file, '');
    expect(() => open(file)).toThrow(/is a file, but with "segments" it names a directory/);
    const dir = join(d, 'dir');
    new SegmentedStore(dir, { segments: { maxBytes: 65536 } }).close();
    writeFileSync(join(dir, 'seg-000002.tomb'), 'x');
    expect(() => open(dir)).toThrow(/only a tombstone/);
  });
});

describe('privacy.noise on a segmented ledger', () => {
  it('keeps ε budgets in budgets.db, one file for every segment, never in a segment', async () => {
    const dir = join(tempDir(), 'audit');
    const noise = {
      unit: 'user',
      budget: { epsilon: 3, windowSeconds: 86_400 },
      fields: { ms: { mechanism: 'laplace', epsilon: 1, lower: 0, upper: 100, granularity: 1 } },
    };
    const psnKey = join(dir, '..', 'psn.key');
    writeFileSync(psnKey, randomBytes(32).toString('base64'), { mode: 0o600 });
    const pseudonymize = { paths: ['user'], keys: [{ id: 'k1', file: psnKey }], current: 'k1' };
    const privacy = { pseudonymize, noise };
    const sink = await openSink({ path: dir, segments: { maxBytes: 65536 }, privacy });
    for (let i = 0; i < 600; i++) {
      sink.write({ user: `u${i % 3}`, ms: 5, pad });
      if (i % 50 === 49) await sink.flush();
    }
    await sink.close();
    expect(listSegments(dir).slots.length).toBeGreaterThan(2);
    const db = new Database(join(dir, BUDGETS_FILE), { readonly: true });
    const spent = db.prepare('SELECT unit, sum(spent) AS s FROM dp_budget GROUP BY unit').all();
    db.close();
    expect(spent).toHaveLength(3);
    // Each unit's budget allowed three noised values in all, not three per segment.
    expect(noisedValues(dir)).toBe(9);
  });
});

/** Records whose `ms` was noised, not suppressed for a spent budget. */
function noisedValues(dir: string): number {
  let n = 0;
  for (const seg of segments(dir)) {
    for (const e of seg.entries) if (JSON.parse(e.toString()).ms?.dp === 'laplace') n++;
  }
  return n;
}

describe('the segments option', () => {
  const check = (o: Record<string, unknown>) => () => validateSinkOptions({ path: '/tmp/x', ...o });
  it('is validated with the field named and what to fix', () => {
    expect(check({ segments: {} })).toThrow(/give maxBytes .* or maxAgeMs/);
    expect(check({ segments: { maxBytes: 1000 } })).toThrow(/"segments.maxBytes" must be an integer ≥ 65536/);
    expect(check({ segments: { maxAgeMs: 'day' } })).toThrow(/"segments.maxAgeMs"/);
    expect(check({ segments: { maxByte: 1 } })).toThrow(/segments.maxByte/);
    expect(check({ segments: { maxBytes: 65536, maxAgeMs: 86_400_000 } })).not.toThrow();
  });

  it('is refused for PostgreSQL and with witnesses, and accepted with timestamps', () => {
    expect(() => validateSinkOptions({ path: 'postgres://h/db', segments: { maxBytes: 65536 } })).toThrow(
      /PostgreSQL ledger is one sequence/,
    );
    const witnesses = [{ url: 'https://w.example/', key: generateWitnessKey('w.example').verifierKey }];
    expect(check({ segments: { maxBytes: 65536 }, checkpoint: { keyFile: 'k', witnesses } })).toThrow(
      /witness would see the tree size go down/,
    );
    const timestamp = { mode: 'required', urls: ['https://tsa.example/'] };
    expect(check({ segments: { maxBytes: 65536 }, checkpoint: { keyFile: 'k', timestamp } })).not.toThrow();
    expect(() =>
      validateSinkOptions({ path: '/tmp/x', segments: { maxBytes: 65536 }, checkpoint: { keyFile: 'k' } }),
    ).not.toThrow();
  });
});
