import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  generateKey,
  parseSignerKey,
  SqliteStore,
  signCheckpoint,
} from '../packages/core/src/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';
import { createTestPki, type TestPki } from './helpers/tsa.js';

// Memory bounds of `sealog verify` against a padded checkpoints table (red-team
// review F5, F6). Anyone who can write the file can add junk checkpoint rows;
// verify used to build one object per row (F6: 300,000 copies of one note took
// 874 MB and 85 s) and, with TSA anchors, keep every note's bytes to match tokens
// (F5). Each case runs the built verifier in a child process and measures it.

const CORE = join(import.meta.dirname, '../packages/core/dist/index.js');
const ORIGIN = 'padded.example/log';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
}, 60_000);
afterAll(async () => {
  await pki?.dispose();
});

/** A ledger of 1000 records sealed every 100, then `pad` run on it with the triggers dropped. */
function ledger(pad: (db: Database.Database, note: string) => void): { path: string; keys: string[] } {
  const path = join(tempDir(), 'padded.db');
  const key = generateKey(ORIGIN);
  const signer = parseSignerKey(key.privateKey);
  const store = new SqliteStore(path);
  let note = '';
  for (let b = 0; b < 10; b++) {
    store.append(
      Array.from({ length: 100 }, (_, k) => {
        const time = 1_700_000_000_000 + b * 100 + k;
        return { entry: Buffer.from(canonicalJson({ i: b * 100 + k, msg: 'event', time })), ts: time };
      }),
    );
    const head = store.head();
    note = signCheckpoint({ origin: ORIGIN, size: head.size, root: head.root }, signer, 1_700_000_000);
    store.addCheckpoint(head, note, Date.now());
  }
  store.close();
  const db = new Database(path);
  try {
    db.exec('DROP TRIGGER checkpoints_no_update; DROP TRIGGER checkpoints_no_delete');
    db.transaction(() => pad(db, note))();
  } finally {
    db.close();
  }
  return { path, keys: [key.verifierKey, key.cosignerVerifierKey] };
}

const CHILD = `
const [dist, path, options] = process.argv.slice(2);
const { verifyLedger } = await import(dist);
const before = process.resourceUsage().maxRSS;
const r = verifyLedger(path, { threads: 0, ...JSON.parse(options) });
const grewMB = (process.resourceUsage().maxRSS - before) / 1024;
console.log(JSON.stringify({ ok: r.ok, totals: r.checkpointTotals, listed: r.checkpoints.length, findings: r.findings.length + r.omittedFindings, grewMB }));
`;

interface ChildResult {
  ok: boolean;
  totals: unknown;
  listed: number;
  findings: number;
  grewMB: number;
}

/** verifyLedger(path, options) from the built package in a child process with `flags`. */
function verifyInChild(path: string, options: object, flags: string[]): ChildResult {
  const script = join(tempDir(), 'child.mjs');
  writeFileSync(script, CHILD);
  const r = spawnSync(process.execPath, [...flags, script, CORE, path, JSON.stringify(options)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0)
    throw new Error(`verify child failed (${r.status ?? r.signal}): ${r.stderr.slice(-500)}`);
  return JSON.parse(r.stdout) as ChildResult;
}

describe('sealog verify on a padded checkpoints table', () => {
  it('150,000 copies of a valid note: verified in a 64 MB heap, every row counted', async () => {
    const copies = 150_000;
    const { path, keys } = ledger((db, note) => {
      const ins = db.prepare('INSERT INTO checkpoints (size, note, created_at) VALUES (1000, ?, 0)');
      for (let i = 0; i < copies; i++) ins.run(note);
    });
    // Before the fix this needed ~270 MB of heap (one object per row) and ~40 s.
    const r = verifyInChild(path, { keys }, ['--max-old-space-size=64']);
    expect(r).toMatchObject({ ok: true, listed: 10_000, findings: 0 });
    expect(r.totals).toEqual({
      stored: 10 + copies,
      storedValid: 10 + copies,
      trusted: 0,
      trustedValid: 0,
    });
    // The human report counts every row, not the listed ones.
    const cli = await runCli(['verify', path, ...keys.flatMap((k) => ['--key', k])]);
    expect(cli.code).toBe(0);
    expect(cli.out).toMatch(`checkpoints: ${10 + copies} stored (${10 + copies} valid), 0 given (0 valid)`);
  }, 120_000);

  it('with TSA anchors, 200 MB of padded notes do not stay in memory', () => {
    const rows = 200;
    const { path, keys } = ledger((db) => {
      const ins = db.prepare('INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, 0)');
      for (let i = 0; i < rows; i++) ins.run(i, `junk ${i} ${'x'.repeat(1_000_000)}`);
    });
    // Before the fix every note's bytes were kept to match tokens: peak RSS grew by > 200 MB.
    const r = verifyInChild(path, { keys, tsaAnchors: pki.caPem }, ['--max-old-space-size=64']);
    expect(r.ok).toBe(false); // each junk row is malformed-checkpoint
    expect(r.findings).toBe(rows + 1); // and one untimestamped
    expect(r.grewMB).toBeLessThan(100);
  }, 120_000);
});
