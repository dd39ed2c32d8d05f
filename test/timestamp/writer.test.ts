import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  anchorTimestampsPath,
  LedgerReader,
  type SealogError,
  SqliteStore,
  splitAnchorNotes,
  splitAnchorTimestamps,
  TimestampRequester,
  verifyLedger,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import {
  createTestPki,
  startTestTsa,
  type TestPki,
  type TestTsa,
  type TsaMode,
  useTestTsa,
} from '../helpers/tsa.js';
import { checkpointRows, recordCount, setup, sha256, tokenRows, writeRecords } from './harness.js';

// The writer side of RFC 3161 (issue 16, item 2) against a real openssl TSA on
// loopback: a sink with checkpoint.timestamp gets a token for each checkpoint
// note it seals, checks it, and keeps it in checkpoint_timestamps and in the
// anchor's token file. A TSA that is down, hangs past the timeout or answers
// garbage costs nothing but the token: every record and checkpoint is stored,
// and the outage is reported once (under "required", each untimestamped
// checkpoint too).

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

describe('a writer with checkpoint.timestamp', () => {
  it('stores a token per checkpoint that verifies offline over the stored note, and anchors it', async () => {
    const t = setup(pki);
    tsa.mode = 'ok';
    const before = tsa.requests.length;
    const errors: SealogError[] = [];
    await writeRecords(
      {
        path: t.path,
        checkpoint: {
          keyFile: t.keyFile,
          everyRecords: 100,
          anchorFile: t.anchor,
          timestamp: { mode: 'best-effort', urls: [tsa.url], trustAnchorsFile: t.caFile },
        },
      },
      6,
      errors,
    );
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(recordCount(t.path)).toBe(300);
    const checkpoints = checkpointRows(t.path);
    expect(checkpoints.length).toBeGreaterThan(1);
    const tokens = tokenRows(t.path);
    // One token per stored checkpoint note, bound to the note's exact bytes.
    expect(tokens.length).toBe(checkpoints.length);
    expect(tsa.requests.length - before).toBe(checkpoints.length);
    for (const cp of checkpoints) {
      const row = tokens.find((r) => r.note_sha256.equals(sha256(cp.note)));
      expect(row, `token for checkpoint ${cp.size}`).toBeDefined();
      expect(row!.size).toBe(cp.size);
      const v = verifyTimestampToken(row!.token, Buffer.from(cp.note, 'utf8'), { trustAnchors: pki.caPem });
      expect(v.genTime.getTime()).toBe(row!.tsa_time);
      // …and not over any other checkpoint's note.
      const other = checkpoints.find((c) => c.note !== cp.note)!;
      expect(() =>
        verifyTimestampToken(row!.token, Buffer.from(other.note, 'utf8'), { trustAnchors: pki.caPem }),
      ).toThrow(/imprint mismatch/);
    }
    // The reader returns the same rows, none with a problem.
    const reader = new LedgerReader(t.path);
    try {
      const read = [...reader.timestamps()];
      expect(read.map((r) => r.token.toString('base64'))).toEqual(
        tokens.map((r) => r.token.toString('base64')),
      );
      expect(read.every((r) => r.problem === undefined)).toBe(true);
    } finally {
      reader.close();
    }
    // The anchor's token file holds the same tokens; the anchor itself is unchanged for its readers.
    const anchored = splitAnchorTimestamps(readFileSync(anchorTimestampsPath(t.anchor), 'utf8'));
    expect(anchored.malformed).toBe(0);
    expect(anchored.timestamps.map((a) => Buffer.from(a.token).toString('base64'))).toEqual(
      tokens.map((r) => r.token.toString('base64')),
    );
    const notes = splitAnchorNotes(readFileSync(t.anchor, 'utf8'));
    expect(notes).toEqual(checkpoints.map((c) => c.note));
    const report = verifyLedger(t.path, { keys: t.keys, trusted: notes });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
  }, 60_000);

  it.each<[string, TsaMode | 'down']>([
    ['is down', 'down'],
    ['hangs past the timeout', 'hang'],
    ['answers garbage', 'garbage'],
    ['answers for another imprint', 'wrong-imprint'],
  ])(
    'a TSA that %s: every record and checkpoint stored, one report, no token',
    async (_, mode) => {
      const t = setup(pki);
      let url = tsa.url;
      let own: TestTsa | undefined;
      if (mode === 'down') {
        own = await startTestTsa(pki);
        url = own.url;
        await own.close(); // nothing listens there now
      } else {
        own = await startTestTsa(pki, mode);
        url = own.url;
      }
      const errors: SealogError[] = [];
      try {
        await writeRecords(
          {
            path: t.path,
            checkpoint: {
              keyFile: t.keyFile,
              everyRecords: 100,
              anchorFile: t.anchor,
              timestamp: { mode: 'best-effort', urls: [url], timeoutMs: 300 },
            },
          },
          6,
          errors,
        );
      } finally {
        await own.close();
      }
      expect(recordCount(t.path)).toBe(300);
      const checkpoints = checkpointRows(t.path);
      expect(checkpoints.length).toBeGreaterThan(1);
      expect(checkpoints.some((c) => c.size === 300)).toBe(true);
      expect(tokenRows(t.path)).toEqual([]);
      expect(errors.map((e) => e.code)).toEqual(['E_IO']);
      expect(errors[0]!.message).toMatch(
        /no RFC 3161 timestamp for checkpoint \d+: .*stored and anchored untimestamped/,
      );
      // The anchor is whole; no token file was written.
      expect(splitAnchorNotes(readFileSync(t.anchor, 'utf8'))).toEqual(checkpoints.map((c) => c.note));
      expect(() => readFileSync(anchorTimestampsPath(t.anchor))).toThrow(/ENOENT/);
    },
    60_000,
  );

  it('a token that does not verify under the configured trust anchors is not kept', async () => {
    const t = setup(pki);
    const other = await createTestPki({ name: 'another CA' });
    const stranger = await startTestTsa(other);
    const errors: SealogError[] = [];
    try {
      await writeRecords(
        {
          path: t.path,
          checkpoint: {
            keyFile: t.keyFile,
            everyRecords: 100,
            anchorFile: t.anchor,
            timestamp: { mode: 'best-effort', urls: [stranger.url], trustAnchorsFile: t.caFile },
          },
        },
        3,
        errors,
      );
    } finally {
      await stranger.close();
      await other.dispose();
    }
    expect(stranger.requests.length).toBeGreaterThan(0);
    expect(recordCount(t.path)).toBe(150);
    expect(tokenRows(t.path)).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/untrusted chain/)]);
  }, 60_000);

  it('falls back to the next URL when the first is down', async () => {
    const t = setup(pki);
    const dead = await startTestTsa(pki);
    await dead.close();
    tsa.mode = 'ok';
    const errors: SealogError[] = [];
    await writeRecords(
      {
        path: t.path,
        checkpoint: {
          keyFile: t.keyFile,
          everyRecords: 100,
          timestamp: { mode: 'required', urls: [dead.url, tsa.url], timeoutMs: 2000 },
        },
      },
      4,
      errors,
    );
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(tokenRows(t.path).length).toBe(checkpointRows(t.path).length);
  }, 60_000);

  it('required: every checkpoint left without a token is reported, and logging goes on', async () => {
    const t = setup(pki);
    const own = await startTestTsa(pki);
    await own.close();
    const errors: SealogError[] = [];
    await writeRecords(
      {
        path: t.path,
        checkpoint: {
          keyFile: t.keyFile,
          everyRecords: 100,
          timestamp: { mode: 'required', urls: [own.url], timeoutMs: 300 },
        },
      },
      6,
      errors,
    );
    expect(recordCount(t.path)).toBe(300);
    const checkpoints = checkpointRows(t.path);
    const outage = errors.filter((e) => /no RFC 3161 timestamp/.test(e.message));
    const untimestamped = errors.filter((e) => /mode is "required"/.test(e.message));
    expect(outage.length).toBe(1);
    // Each checkpoint is reported once: as overdue, given up, or left at close.
    expect(untimestamped.length).toBe(checkpoints.length);
    expect(new Set(untimestamped.map((e) => e.message.match(/^checkpoint (\d+)/)?.[1]))).toEqual(
      new Set(checkpoints.map((c) => String(c.size))),
    );
    expect(errors.every((e) => e.code === 'E_IO')).toBe(true);
  }, 60_000);

  it('required: a checkpoint still untimestamped past the deadline is reported at the next failure', async () => {
    const t = setup(pki);
    const own = await startTestTsa(pki, 'http-500');
    const store = new SqliteStore(t.path);
    const errors: SealogError[] = [];
    const r = new TimestampRequester({
      urls: [own.url],
      mode: 'required',
      timeoutMs: 2000,
      store,
      onError: (e) => errors.push(e),
      requiredWithinMs: 0,
    });
    try {
      r.submit({ size: 0, note: 'stamped.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n' });
      await r.close();
    } finally {
      store.close();
      await own.close();
    }
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/no RFC 3161 timestamp for checkpoint 0: .*HTTP 500/),
      expect.stringMatching(/^checkpoint 0 still has no timestamp token \d+ s after it was sealed/),
    ]);
  }, 30_000);
});
