import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateKey,
  generateWitnessKey,
  listSegments,
  openSink,
  type SealogError,
  validateSinkOptions,
  verifyTimestampToken,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { attackerOpen, sealog } from '../attacks/harness.js';
import { withDb } from '../helpers/sink-rounds.js';
import { tempDir } from '../helpers/tmp.js';
import { type TestPki, type TestTsa, useTestTsa } from '../helpers/tsa.js';
import { ORIGIN } from '../timestamp/harness.js';

// Issue 18 with RFC 3161 (docs/lifecycle.md "Segments", docs/timestamps.md §5):
// every segment is its own tree, so sizes repeat across segments; a writer
// keeps each checkpoint's token in the segment that stores the note, the final
// checkpoints of closed segments included, and `sealog verify <dir>
// --tsa-anchor` judges each segment's tokens against its own notes. A token
// moved or copied into another segment is a finding.

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const segmentFiles = (dir: string) => listSegments(dir).slots.map((s) => s.file!);
const rows = (file: string) =>
  withDb(file, (db) => db.prepare('SELECT count(*) FROM records').pluck().get() as number);
const notesAt = (file: string, size: number) =>
  withDb(
    file,
    (db) => db.prepare('SELECT note FROM checkpoints WHERE size = ?').pluck().all(size) as string[],
  );
const tokens = (file: string) =>
  withDb(
    file,
    (db) =>
      db
        .prepare('SELECT id, size, note_sha256, token, tsa_time FROM checkpoint_timestamps ORDER BY id')
        .all() as {
        id: number;
        size: number;
        note_sha256: Buffer;
        token: Buffer;
        tsa_time: number;
      }[],
  );
/** The token kept in `file` for a checkpoint note at the segment's last row, if any. */
const finalToken = (file: string) => {
  const size = rows(file);
  const kept = tokens(file);
  for (const note of notesAt(file, size)) {
    const t = kept.find((k) => k.note_sha256.equals(sha256(note)));
    if (t) return { note, size, ...t };
  }
  return undefined;
};

/** Shared by the tests (tempDir() would be removed after the first). */
const t = { dir: '', keyFile: '', caFile: '' };
let dir: string;
let errors: SealogError[];
afterAll(() => rmSync(t.dir, { recursive: true, force: true }));

/** A real writer rotating through ≥ 4 segments with checkpoint.timestamp, until every segment's end is stamped. */
beforeAll(async () => {
  t.dir = mkdtempSync(join(tmpdir(), 'sealog-tsa-segments-'));
  const k = generateKey(ORIGIN);
  t.keyFile = join(t.dir, 'log.key');
  writeKeyFile(t.keyFile, k.privateKey);
  t.caFile = join(t.dir, 'tsa-ca.pem');
  writeFileSync(t.caFile, pki.caPem);
  dir = join(t.dir, 'audit');
  writeFileSync(join(t.dir, 'log.vkeys'), `${[k.verifierKey, k.cosignerVerifierKey].join('\n')}\n`);
  errors = [];
  const sink = await openSink(
    {
      path: dir,
      segments: { maxBytes: 65536 },
      checkpoint: {
        keyFile: t.keyFile,
        everyMs: 300,
        // best-effort: a token still in flight when the sink closes is not reported (required would).
        timestamp: { mode: 'best-effort', urls: [tsa.url], trustAnchorsFile: t.caFile },
      },
    },
    { onError: (e) => errors.push(e) },
  );
  const pad = 'x'.repeat(300);
  for (let round = 0; round < 200 && segmentFiles(dir).length < 4; round++) {
    for (let i = 0; i < 20; i++) sink.write({ msg: 'audit', round, i, pad });
    await sink.flush();
    await new Promise((ok) => setTimeout(ok, 20));
  }
  // Rotations seal the closed segment at its end, and the newest is sealed within everyMs: wait for their
  // tokens, so the checkpoint the close adds is not the only one at the newest segment's end.
  for (let i = 0; i < 600 && !segmentFiles(dir).every((f) => finalToken(f) !== undefined); i++)
    await new Promise((ok) => setTimeout(ok, 100));
  await sink.close();
}, 180_000);

describe('a segmented ledger with checkpoint.timestamp', { timeout: 120_000 }, () => {
  it('is accepted as an option (witnesses stay refused, saying why and what to do)', () => {
    const timestamp = { mode: 'required', urls: ['https://tsa.example/'] };
    expect(() =>
      validateSinkOptions({
        path: '/tmp/x',
        segments: { maxBytes: 65536 },
        checkpoint: { keyFile: 'k', timestamp },
      }),
    ).not.toThrow();
    const witnesses = [{ url: 'https://w.example/', key: generateWitnessKey('w.example').verifierKey }];
    expect(() =>
      validateSinkOptions({
        path: '/tmp/x',
        segments: { maxBytes: 65536 },
        checkpoint: { keyFile: 'k', witnesses },
      }),
    ).toThrow(/one append-only tree per origin.*Witness a ledger without "segments"/s);
  });

  it("keeps every closed segment's final checkpoint token in that segment, over that segment's note", () => {
    expect(errors.map((e) => e.message)).toEqual([]);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files.slice(0, -1)) {
      const f = finalToken(file);
      expect(f, `final token of ${file}`).toBeDefined();
      // Stored under the segment's own size, and verifying over exactly that note.
      expect(f!.size).toBe(rows(file));
      const v = verifyTimestampToken(f!.token, Buffer.from(f!.note, 'utf8'), { trustAnchors: pki.caPem });
      expect(v.genTime.getTime()).toBe(f!.tsa_time);
    }
    // Every token a segment keeps stamps a note that segment stores.
    for (const file of files) {
      const notes = withDb(
        file,
        (db) => db.prepare('SELECT note FROM checkpoints').pluck().all() as string[],
      );
      for (const k of tokens(file)) expect(notes.some((n) => sha256(n).equals(k.note_sha256))).toBe(true);
    }
  });

  it('verifies with --tsa-anchor --tsa required, each segment timestamped', async () => {
    const v = await sealog([
      'verify',
      dir,
      '--key-file',
      join(t.dir, 'log.vkeys'),
      '--tsa-anchor',
      t.caFile,
      '--tsa',
      'required',
      '--json',
    ]);
    const report = JSON.parse(v.out) as {
      findings: unknown[];
      segments: { report: { findings: { kind: string }[]; tsa: { timestamped: number } } }[];
    };
    expect(v.code, JSON.stringify(report.findings)).toBe(0);
    for (const s of report.segments) {
      expect(s.report.tsa.timestamped).toBeGreaterThan(0);
      expect(s.report.findings.filter((f) => f.kind.includes('timestamp'))).toEqual([]);
    }
    // The human report says it per segment.
    const human = await sealog([
      'verify',
      dir,
      '--key-file',
      join(t.dir, 'log.vkeys'),
      '--tsa-anchor',
      t.caFile,
    ]);
    expect(human.code, human.out).toBe(0);
    expect(human.out.match(/seg-\d+\.db .* [1-9]\d*\/\d+ checkpoint\(s\) timestamped: OK/g)).toHaveLength(
      report.segments.length,
    );
  });

  it('a token moved from segment 1 into segment 2 is a finding', async () => {
    const copy = join(tempDir(), 'audit');
    cpSync(dir, copy, { recursive: true });
    const [one, two] = segmentFiles(copy);
    const moved = finalToken(one!)!;
    const db1 = attackerOpen(one!);
    db1.exec('DROP TRIGGER IF EXISTS checkpoint_timestamps_no_delete');
    db1.prepare('DELETE FROM checkpoint_timestamps WHERE id = ?').run(moved.id);
    db1.close();
    const db2 = attackerOpen(two!);
    db2
      .prepare(
        'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(moved.size, moved.note_sha256, moved.token, moved.tsa_time, Date.now());
    db2.close();
    for (const mode of ['best-effort', 'required']) {
      const v = await sealog([
        'verify',
        copy,
        '--key-file',
        join(t.dir, 'log.vkeys'),
        '--tsa-anchor',
        t.caFile,
        '--tsa',
        mode,
        '--json',
      ]);
      expect(v.code).toBe(1);
      const findings = JSON.parse(v.out).findings as { kind: string; segment: number; message: string }[];
      expect(findings).toEqual([
        expect.objectContaining({
          kind: 'segment-timestamp',
          segment: 2,
          message: expect.stringMatching(/segment 2 holds the RFC 3161 token of segment 1's checkpoint/),
        }),
      ]);
    }
  });

  it('exports one segment with its tokens; verify-bundle --tsa required passes', async () => {
    const out = join(tempDir(), 'bundle');
    const vkeys = join(t.dir, 'log.vkeys');
    const e = await sealog(['export', dir, '--segment', '2', '--key-file', vkeys, '--out', out]);
    expect(e.code, e.err).toBe(0);
    const v = await sealog([
      'verify-bundle',
      out,
      '--key-file',
      vkeys,
      '--tsa-anchor',
      t.caFile,
      '--tsa',
      'required',
    ]);
    expect(v.code, v.out + v.err).toBe(0);
  });
});
