import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Bundle,
  exportBundle,
  LedgerReader,
  verifyBundle,
  writeBundle,
} from '../packages/core/src/index.js';
import { appendRecords, exportFrom, sealedLedger } from './bundle-fixture.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const clone = (b: Bundle): Bundle => JSON.parse(JSON.stringify(b));
const flipByte = (b64: string, at: number): string => {
  const bytes = Buffer.from(b64, 'base64');
  bytes[at % bytes.length]! ^= 0x01;
  return bytes.toString('base64');
};

describe('evidence bundle round trip', () => {
  it('exports every record of a range and verifies with the trusted keys', async () => {
    const l = await sealedLedger(tempDir(), 37, { alsoAt: 20 });
    const b = exportFrom(l, { seqFrom: 5, seqTo: 25 });
    expect(b.entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 5));
    expect(b.manifest).toMatchObject({ origin: l.origin, entryCount: 20, withheld: 0, seqs: [[5, 24]] });
    expect(b.manifest.checkpoint.size).toBe(37);
    const r = verifyBundle(JSON.stringify(b), { keys: l.vkeys });
    expect(r.problems).toEqual([]);
    expect(r.status).toBe('ok');
    expect(r.keySource).toBe('given');
    expect(r.entries.every((e) => e.ok)).toBe(true);
    expect(r.checkpoint).toMatchObject({ origin: l.origin, size: 37, time: 1_760_000_500 });
    expect(r.checkpoint?.signers[0]?.name).toBe(l.origin);
    expect(r.checkpoint?.timeSigner?.name).toBe(`${l.origin}/time`);
    // The anchor file holds checkpoints at 20 and 37; only 37 covers seq 24.
    expect(r.anchors.map((a) => [a.size, a.ok])).toEqual([[37, true]]);
  });

  it('states withheld rows for a filtered export, and the rows included still verify', async () => {
    const l = await sealedLedger(tempDir(), 30);
    const b = exportFrom(l, { match: (r) => JSON.parse(r.entry.toString()).level === 40 });
    expect(b.entries.map((e) => e.seq)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(b.manifest.withheld).toBe(18);
    expect(b.readme).toMatch(/YES: 18 row\(s\) between seq 0 and 27 were left out/);
    const r = verifyBundle(b, { keys: l.vkeys });
    expect(r.status).toBe('ok');
    expect(r.withheld).toBe(18);
    expect(r.notes.join('\n')).toMatch(/18 row\(s\) between seq 0 and 27 were withheld/);
  });

  it('without --key uses the bundle keys and says that proves only self-consistency', async () => {
    const l = await sealedLedger(tempDir(), 5);
    const r = verifyBundle(exportFrom(l));
    // Not a pass: a forger makes any bundle self-consistent (issue 14, finding 6).
    expect(r.status).toBe('self-consistent');
    expect(r.problems).toEqual([]);
    expect(r.keySource).toBe('bundle');
    expect(r.notes.join('\n')).toMatch(/self-consistent/);
  });

  it('refuses to export when no checkpoint covers the range, telling the user to run sealog checkpoint', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 10);
    await appendRecords(l.path, 10, 5);
    const reader = new LedgerReader(l.path);
    try {
      expect(() => exportBundle(reader, { query: { seqFrom: 8 }, keys: l.vkeys })).toThrow(
        /no signed checkpoint covers record 14.*sealog checkpoint/,
      );
      // Up to seq 9 the checkpoint at size 10 covers it.
      expect(exportBundle(reader, { query: { seqTo: 10 }, keys: l.vkeys }).bundle.entries).toHaveLength(10);
    } finally {
      reader.close();
    }
  });

  it('writes a directory whose bundle.json verifies and whose entries.jsonl holds the exact stored bytes', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 8);
    const out = join(dir, 'evidence');
    writeBundle(exportFrom(l), out);
    const b = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Bundle;
    const lines = readFileSync(join(out, 'entries.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines.map((x) => Buffer.from(x).toString('base64'))).toEqual(b.entries.map((e) => e.entry));
    expect(readFileSync(join(out, 'checkpoint.txt'), 'utf8')).toBe(b.checkpoint);
    expect(verifyBundle(b, { keys: l.vkeys }).status).toBe('ok');
    expect(() => writeBundle(b, out)).toThrow(/not empty/);
  });
});

describe('tampered bundles fail with the right message', () => {
  it('changed entry bytes', async () => {
    const l = await sealedLedger(tempDir(), 12);
    const b = clone(exportFrom(l));
    b.entries[4]!.entry = Buffer.from(
      Buffer.from(b.entries[4]!.entry, 'base64').toString().replace('"view"', '"edit"'),
    ).toString('base64');
    const r = verifyBundle(b, { keys: l.vkeys });
    expect(r.status).toBe('failed');
    expect(r.entries.filter((e) => !e.ok).map((e) => e.seq)).toEqual([4]);
    expect(r.problems).toEqual([expect.stringMatching(/^record 4: entry bytes were changed/)]);
  });

  it('changed proof hash', async () => {
    const l = await sealedLedger(tempDir(), 12);
    const b = clone(exportFrom(l));
    b.entries[7]!.proof[1] = flipByte(b.entries[7]!.proof[1]!, 9);
    const r = verifyBundle(b, { keys: l.vkeys });
    expect(r.status).toBe('failed');
    expect(r.problems).toEqual([
      expect.stringMatching(/^record 7: inclusion proof does not lead to the checkpoint root/),
    ]);
  });

  it('wrong key: a trusted key of another log', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 6);
    const other = await sealedLedger(dir, 6, { origin: 'other.example/log', name: 'other' });
    const r = verifyBundle(exportFrom(l), { keys: other.vkeys });
    expect(r.status).toBe('failed');
    expect(r.problems[0]).toMatch(/^checkpoint signature: signed only by keys not given/);
    expect(r.entries.every((e) => !e.ok && /checkpoint did not verify/.test(e.message))).toBe(true);
  });

  it('swapped checkpoint from another ledger (keys swapped too, so the signature verifies)', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 9);
    // A different tree (11 records) from a different log.
    const other = await sealedLedger(dir, 11, { origin: 'other.example/log', name: 'other' });
    const b = clone(exportFrom(l));
    const o = exportFrom(other);
    b.checkpoint = o.checkpoint;
    b.keys = o.keys;
    const r = verifyBundle(b);
    expect(r.status).toBe('failed');
    expect(r.problems).toContain(
      `manifest disagrees with the bundle: origin "${l.origin}" ≠ checkpoint origin "other.example/log"; checkpoint size/root differ from the signed checkpoint`,
    );
    expect(r.entries.every((e) => !e.ok && /inclusion proof does not lead/.test(e.message))).toBe(true);
    // With the real log's key from outside, the swap is a signature failure.
    expect(verifyBundle(b, { keys: l.vkeys }).problems[0]).toMatch(
      /^checkpoint signature: signed only by keys not given/,
    );
  });

  it('a checkpoint signed by a key whose name is not the origin', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 4);
    const b = clone(exportFrom(l));
    // Same body, but the note's log signature is replaced by another key's over that body.
    const other = await sealedLedger(dir, 4, { origin: 'other.example/log', name: 'other' });
    const { parseSignerKey, signNote } = await import('../packages/core/src/index.js');
    const body = b.checkpoint.slice(0, b.checkpoint.indexOf('\n\n') + 1);
    b.checkpoint = signNote(body, [parseSignerKey(other.privateKey)]);
    const r = verifyBundle(b, { keys: other.vkeys });
    expect(r.status).toBe('failed');
    expect(r.problems[0]).toMatch(
      /origin "audit.example.com\/billing" is not the name of the key that signed it/,
    );
  });

  it('a record added, duplicated or moved, and a lying manifest', async () => {
    const l = await sealedLedger(tempDir(), 10);
    const b = clone(exportFrom(l, { seqFrom: 2, seqTo: 6 }));
    b.entries.push({ ...b.entries[0]! });
    const r = verifyBundle(b, { keys: l.vkeys });
    expect(r.problems).toContain(
      'record 2: seq is not above the previous record (records duplicated or out of order)',
    );
    const c = clone(exportFrom(l, { seqFrom: 2, seqTo: 6 }));
    c.manifest.withheld = 0;
    c.entries.splice(1, 1);
    c.manifest.entryCount = 3;
    const rc = verifyBundle(c, { keys: l.vkeys });
    expect(rc.entries.every((e) => e.ok)).toBe(true);
    expect(rc.problems).toEqual([
      expect.stringMatching(/^manifest disagrees with the bundle: seqs differ.*withheld 0 ≠ 1/),
    ]);
  });

  it('an anchor checkpoint with a changed consistency proof', async () => {
    const l = await sealedLedger(tempDir(), 40, { alsoAt: 21 });
    const b = clone(exportFrom(l, { seqTo: 10 }));
    expect(b.anchors.length).toBe(2);
    b.anchors[0]!.proof[0] = flipByte(b.anchors[0]!.proof[0]!, 0);
    const r = verifyBundle(b, { keys: l.vkeys });
    expect(r.problems).toEqual([
      expect.stringMatching(/^anchor checkpoint: the log at size 21 is not consistent/),
    ]);
  });
});

describe('sealog export / verify-bundle CLI', () => {
  it('exit codes: 0 verified, 1 tampered, 2 unreadable', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 15);
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `${l.vkeys.join('\n')}\n`);
    const out = join(dir, 'b.json');
    const e = await runCli([
      'export',
      l.path,
      '--key-file',
      keys,
      '--level',
      'warn',
      '--out',
      out,
      '--anchor',
      l.anchor,
    ]);
    expect(e.err).toBe('');
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/exported 5 record\(s\) of audit.example.com\/billing \(seq 0\.\.12, 8 withheld\)/);
    const ok = await runCli(['verify-bundle', out, '--key', l.vkeys[0]!, '--key', l.vkeys[1]!]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^VERIFIED\n/);
    expect(ok.out).toMatch(/records: {4}5 of 5 verified/);
    const b = JSON.parse(readFileSync(out, 'utf8')) as Bundle;
    b.entries[2]!.entry = flipByte(b.entries[2]!.entry, 3);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(b));
    const failed = await runCli(['verify-bundle', bad, '--key-file', keys]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/^FAILED\n[\s\S]*problem: {4}record 6: entry bytes were changed/);
    writeFileSync(bad, '{"type":"something else"}');
    const unreadable = await runCli(['verify-bundle', bad, '--key-file', keys]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.out).toMatch(/^UNREADABLE\n[\s\S]*not a sealog evidence bundle/);
    const missing = await runCli(['verify-bundle', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
  });
});
