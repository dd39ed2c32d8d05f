import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateKey,
  loadSignerKeyFile,
  openSink,
  parseNote,
  type SealogError,
  splitAnchorNotes,
  verifyLedger,
  verifyWitnessCosignatures,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { checkpointRows, writeRecords } from '../helpers/sink-rounds.js';
import { tempDir } from '../helpers/tmp.js';
import { type Running, serveWitness, storedHead, witnessConfig } from './harness.js';

// The writer side of tlog-witness: a transport's sink sends each checkpoint it
// seals to a real `sealog witness serve` process on loopback, and stores the
// cosigned note as one more checkpoint row and anchor note. A witness that is
// down costs nothing but the cosignature: every record is stored, and the
// checkpoints stay unwitnessed.

const ORIGIN = 'writer.example/log';
let witness: Running | undefined;
afterEach(async () => {
  await witness?.stop();
  witness = undefined;
});

function setup() {
  const dir = tempDir();
  const k = generateKey(ORIGIN);
  const keyFile = join(dir, 'log.key');
  writeKeyFile(keyFile, k.privateKey);
  return {
    dir,
    keyFile,
    logKey: k.verifierKey,
    path: join(dir, 'audit.db'),
    anchor: join(dir, 'anchor.txt'),
  };
}

// Seals and witness requests run beside the writes.
const writeRecordsBeside = (options: Record<string, unknown>, rounds: number, errors: SealogError[]) =>
  writeRecords(options, rounds, errors, { pauseMs: 30 });

describe('the writer sends its checkpoints to witnesses', () => {
  it('stores each cosigned note as another checkpoint row and anchor note', async () => {
    const t = setup();
    const w = await witnessConfig(t.dir, [{ origin: ORIGIN, key: t.logKey }]);
    witness = await serveWitness(w.config);
    const errors: SealogError[] = [];
    await writeRecordsBeside(
      {
        path: t.path,
        checkpoint: {
          keyFile: t.keyFile,
          everyRecords: 100,
          anchorFile: t.anchor,
          witnesses: [{ url: witness.url, key: w.verifierKey }],
        },
      },
      10,
      errors,
    );
    expect(errors.map((e) => e.message)).toEqual([]);
    const rows = checkpointRows(t.path);
    const cosigned = rows.filter((r) => verifyWitnessCosignatures(r.note, [w.verifierKey], 1).quorumMet);
    expect(cosigned.length).toBeGreaterThan(1);
    // The witness is at least at the newest size we stored its cosignature for (the
    // final checkpoint's, sent during close, may miss close's 2 s grace on a loaded box).
    const newest = Math.max(...cosigned.map((r) => r.size));
    expect(storedHead(w.stateFile, ORIGIN)?.size).toBeGreaterThanOrEqual(newest);
    // Each cosigned row carries the same body and the log's own lines as a row the writer signed.
    // (A size can have several plain rows: the closing seal re-signs an unchanged head, with a
    // later time line or, within the same second, the same one; the row is matched by its body
    // and lines, not taken by size alone.)
    for (const c of cosigned) {
      const plains = rows.filter((r) => r.size === c.size && !r.note.includes('witness.example'));
      expect(plains.length, `size ${c.size}`).toBeGreaterThan(0);
      const same = plains.filter(
        (p) => parseNote(c.note).text === parseNote(p.note).text && c.note.startsWith(p.note.slice(0, -1)),
      );
      expect(
        same.length,
        `size ${c.size}: no plain row with the cosigned note's body and lines`,
      ).toBeGreaterThan(0);
    }
    // The extra rows are ordinary checkpoints to a verifier without a witness policy.
    const report = verifyLedger(t.path, {
      keys: [t.logKey],
      trusted: splitAnchorNotes(readFileSync(t.anchor, 'utf8')),
    });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    const anchored = splitAnchorNotes(readFileSync(t.anchor, 'utf8'));
    expect(anchored.filter((n) => verifyWitnessCosignatures(n, [w.verifierKey], 1).quorumMet)).toHaveLength(
      cosigned.length,
    );
  }, 60_000);

  it('a witness that is down: every record stored, checkpoints unwitnessed, one report', async () => {
    const t = setup();
    const w = await witnessConfig(t.dir, [{ origin: ORIGIN, key: t.logKey }]);
    const down = await serveWitness(w.config);
    const url = down.url;
    await down.stop(); // nothing listens there now
    const errors: SealogError[] = [];
    await writeRecordsBeside(
      {
        path: t.path,
        checkpoint: {
          keyFile: t.keyFile,
          everyRecords: 100,
          witnesses: [{ url, key: w.verifierKey }],
          witnessTimeoutMs: 500,
        },
      },
      6,
      errors,
    );
    const db = new Database(t.path, { readonly: true });
    const stored = db.prepare('SELECT count(*) FROM records').pluck().get();
    db.close();
    expect(stored).toBe(300);
    const rows = checkpointRows(t.path);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => !verifyWitnessCosignatures(r.note, [w.verifierKey], 1).quorumMet)).toBe(true);
    const reports = errors.filter((e) => e.message.includes('did not cosign'));
    expect(reports.length).toBe(1);
    expect(reports[0]?.message).toMatch(/stored unwitnessed/);
  }, 60_000);

  it('refuses a witness key that is a log key, naming the field', async () => {
    const t = setup();
    await expect(
      openSink({
        path: t.path,
        checkpoint: { keyFile: t.keyFile, witnesses: [{ url: 'http://127.0.0.1:1/', key: t.logKey }] },
      }),
    ).rejects.toThrow(/checkpoint\.witnesses\[0\]\.key/);
  });

  it("refuses the log's own time key as a witness, naming the field", async () => {
    const t = setup();
    const own = loadSignerKeyFile(t.keyFile).timeCosigner();
    await expect(
      openSink({
        path: t.path,
        checkpoint: { keyFile: t.keyFile, witnesses: [{ url: 'http://127.0.0.1:1/', key: own.verifierKey }] },
      }),
    ).rejects.toThrow(/checkpoint\.witnesses\[0\]\.key.*own time key/);
  });

  // Red-team findings (session 6): a witness must not be able to keep the writer busy,
  // nor hold the process after close.
  it('a witness answering 409 with ever-changing sizes gets one retry per checkpoint, then backoff', async () => {
    const t = setup();
    let requests = 0;
    const hostile = createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(409, { 'content-type': 'text/x.tlog.size' });
        res.end(`${requests % 2 === 0 ? 0 : 1}\n`);
      });
    });
    await new Promise<void>((ok) => hostile.listen(0, '127.0.0.1', ok));
    const { port } = hostile.address() as AddressInfo;
    const w = await witnessConfig(t.dir, [{ origin: ORIGIN, key: t.logKey }]);
    const errors: SealogError[] = [];
    try {
      await writeRecords(
        {
          path: t.path,
          checkpoint: {
            keyFile: t.keyFile,
            everyRecords: 100,
            witnesses: [{ url: `http://127.0.0.1:${port}/`, key: w.verifierKey }],
          },
        },
        20, // ~0.6 s of writing, ~10 checkpoints
        errors,
      );
    } finally {
      hostile.close();
    }
    // Without the once-per-seal rule and the backoff this loop ran ~150 requests a second.
    expect(requests).toBeGreaterThan(0);
    expect(requests).toBeLessThan(12);
    expect(errors.filter((e) => e.message.includes('did not cosign')).length).toBe(1);
  }, 60_000);

  it('close abandons a request to a slow witness after its grace period', async () => {
    const t = setup();
    let closedAt = 0;
    const slow = createServer((req) => {
      req.resume();
      req.socket.on('close', () => {
        closedAt = Date.now();
      }); // never answers
    });
    await new Promise<void>((ok) => slow.listen(0, '127.0.0.1', ok));
    const { port } = slow.address() as AddressInfo;
    const w = await witnessConfig(t.dir, [{ origin: ORIGIN, key: t.logKey }]);
    const errors: SealogError[] = [];
    const sink = await openSink(
      {
        path: t.path,
        checkpoint: {
          keyFile: t.keyFile,
          witnesses: [{ url: `http://127.0.0.1:${port}/`, key: w.verifierKey }],
          witnessTimeoutMs: 60_000,
        },
      },
      { onError: (e) => errors.push(e) },
    );
    sink.write({ msg: 'one' });
    const t0 = Date.now();
    await sink.close();
    const closed = Date.now();
    await new Promise((ok) => setTimeout(ok, 500));
    slow.close();
    expect(closed - t0).toBeLessThan(10_000);
    // The socket was torn down at close, not after the 60 s request timeout.
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - t0).toBeLessThan(10_000);
    expect(errors.filter((e) => e.message.includes('did not cosign'))).toEqual([]);
  }, 60_000);
});
