import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink, type SealogError, type SqliteStore, verifyLedger } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { makeKey, recordsByWriter, upTo } from './harness.js';

// Disk full, modelled with SQLite's max_page_count on the writer's own
// connection (SQLITE_FULL is what a full filesystem returns too). The app keeps
// logging through it; the error reaches onError with a code; nothing is
// dropped; raising the limit ("space returns") lets the kept records commit,
// and the chain and checkpoints run straight across the gap.

describe('disk full', () => {
  it('reports E_IO "disk full", keeps and retries records, resumes when space returns, loses nothing', async () => {
    const dir = tempDir();
    const path = join(dir, 'full.db');
    const key = makeKey(dir);
    const errors: SealogError[] = [];
    const sink = await openSink(
      { path, batchDelayMs: 5, checkpoint: { keyFile: key.keyFile, everyRecords: 100, everyMs: 50 } },
      { onError: (e) => errors.push(e) },
    );
    const db = (sink.ledger.store as SqliteStore).db;
    const pad = 'z'.repeat(500);
    const acks: Promise<void>[] = [];
    let n = 0;
    for (; n < 300; n++) acks.push(sink.ledger.append({ w: 'w', n, pad }));
    await Promise.all(acks);
    const pages = db.pragma('page_count', { simple: true }) as number;
    // The disk fills up: at most a few more pages.
    db.pragma(`max_page_count = ${pages + 2}`);
    const during: Promise<void>[] = [];
    let committedDuringFull = 0;
    for (let round = 0; round < 20; round++) {
      // The app keeps logging: write() never throws while the store fails.
      for (let i = 0; i < 50; i++, n++) {
        const p = sink.ledger.append({ w: 'w', n, pad });
        p.then(() => committedDuringFull++);
        during.push(p);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.code).toBe('E_IO');
      expect(e.message).toMatch(/disk full/);
    }
    expect(sink.stats.failedCommits).toBeGreaterThan(0);
    expect(sink.stats.pending).toBeGreaterThan(0);
    expect(sink.stats.refused).toBe(0);
    // Some records really waited for space (else this test proves nothing about retrying).
    expect(committedDuringFull).toBeLessThan(during.length);
    // Space returns.
    db.pragma('max_page_count = 1073741823');
    await Promise.all(during);
    for (let i = 0; i < 100; i++, n++) sink.write({ w: 'w', n, pad });
    await sink.close();

    // Nothing lost, nothing duplicated, in order; the chain and the final checkpoint cover it all.
    expect(recordsByWriter(path).get('w')).toEqual(upTo(n));
    const report = verifyLedger(path, { keys: [key.vkey], strict: true });
    expect(report.findings).toEqual([]);
    expect(report.size).toBe(n);
    const cli = await runCli(['verify', path, '--key', key.vkey, '--strict']);
    expect(cli.code, cli.out + cli.err).toBe(0);
  });
});
