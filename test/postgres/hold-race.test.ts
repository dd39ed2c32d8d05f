// Legal hold against prune on PostgreSQL when the advisory lock between them
// does not hold (red-team findings). The attacker can write the database (no
// key) and can end the lock's session (pg_terminate_backend as the same role;
// an idle timeout or a pooler does it too); the operator places a hold.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileCheckpointKey, loadSignerKeyFile } from '../../packages/core/src/index.js';
import { trustKeys } from '../../packages/core/src/store/postgres/holds.js';
import { prunePg } from '../../packages/core/src/store/postgres/prune.js';
import { refuseHoldAfterPrune } from '../../packages/core/src/store/postgres/unfinished-prune.js';
import { BIN, runBin } from '../helpers/bin.js';
import { psql } from '../helpers/postgres.js';
import { table, verify } from './harness.js';
import {
  DAY,
  expectWriterRefused,
  ledger,
  OLD,
  plantTombstone,
  prune,
  pruneFixture,
  seed,
  seqRange,
  write,
} from './prune-helpers.js';

const f = pruneFixture('pg_hold_race');
const iso = (ms: number) => new Date(ms).toISOString();
const HOLD = () => [
  'hold',
  'add',
  '--id',
  'LIT-9',
  '--reason',
  'LIT-9 discovery',
  '--key',
  f.key.keyFile,
  '--from',
  iso(Date.now() - 450 * DAY),
  '--to',
  iso(Date.now() - 380 * DAY),
];

/** `sealog hold add` over the old records, run to its end while prune waits at a stage. */
function holdNow(url: string): { code: number; err: string } {
  const args = HOLD();
  args.splice(2, 0, url);
  try {
    execFileSync(process.execPath, [BIN, ...args], { stdio: 'pipe' });
    return { code: 0, err: '' };
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    return { code: e.status, err: e.stderr.toString() };
  }
}

const keysOf = () =>
  readFileSync(f.key.pub, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

/** prunePg as the CLI runs it, minus the advisory lock (lost), with `at` called at each stage. */
async function pruneWithoutLock(url: string, at: (stage: string) => void) {
  const now = Date.now();
  const signer = fileCheckpointKey(loadSignerKeyFile(f.key.keyFile), f.key.keyFile);
  try {
    return await prunePg(url, {
      signer,
      keys: readFileSync(f.key.pub, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== ''),
      cutoff: now - 365 * DAY,
      now,
      retention: 365 * DAY,
      reason: 'RET-7 retention',
      dryRun: false,
      onStage: at,
    });
  } finally {
    await signer.close();
  }
}

describe('hold and prune on PostgreSQL without the advisory lock between them', () => {
  it('a hold placed after prune verified the ledger stops the cut', async () => {
    const url = ledger(f, 'lost_lock');
    await seed(f, url);
    let placed: { code: number; err: string } | undefined;
    const run = pruneWithoutLock(url, (stage) => {
      if (stage === 'verified') placed = holdNow(url);
    });
    await expect(run).rejects.toThrow(
      /legal hold statement appended after prune verified the ledger; nothing removed/,
    );
    expect(placed?.code, placed?.err).toBe(0);
    expect((await seqRange(url)).lo).toBe(0);
    // Run again, prune judges the hold and refuses by name.
    const again = await prune(f, url);
    expect(again.code, again.err).toBe(2);
    expect(again.err).toContain('legal hold LIT-9');
    expect((await seqRange(url)).lo).toBe(0);
    // Its statement stays, sealed, after the hold's row. Someone who can write the
    // database carries out that cut by hand, under the hold: verify says so.
    const [st] = await psql<{ seq: number }>(
      url,
      `SELECT seq::int AS seq FROM ${table(url, 'records')} WHERE position('"prunePrefix"'::bytea in entry) > 0`,
    );
    await plantTombstone(url, OLD, st!.seq);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(1);
    const findings = (v.report?.findings ?? []) as { kind: string; message: string }[];
    expect(findings.filter((x) => x.kind === 'bad-tombstone').map((x) => x.message)).toEqual([
      expect.stringMatching(
        /removed records under legal hold "LIT-9" \(row \d+\), active when the statement was signed/,
      ),
    ]);
    // A signing writer opening it stores records and signs nothing.
    await expectWriterRefused(f, url, 'signed while legal hold "LIT-9"');
  }, 180_000);

  // Killed after appending its statement (not sealed yet: the hold's own seal would
  // seal it) or after sealing it: either way a signed authorisation waits for its cut.
  for (const stage of ['appended', 'sealed']) {
    it(`a hold over the rows of a prune killed once its statement was ${stage} is refused`, async () => {
      const url = ledger(f, `interrupted_${stage}`);
      await seed(f, url);
      const killed = pruneWithoutLock(url, (at) => {
        if (at === stage) throw new Error(`killed once ${stage}`);
      });
      await expect(killed).rejects.toThrow(/killed once/);
      expect((await seqRange(url)).lo).toBe(0);
      const h = holdNow(url);
      expect(h.code, h.err).toBe(2);
      expect(h.err).toMatch(/prune statement removing records 0\.\.199 .* whose cut never ran/);
      // Finishing the prune is what the message says to do; then the old records are gone under retention.
      const done = await prune(f, url);
      expect(done.code, done.err).toBe(0);
      expect((await seqRange(url)).lo).toBe(OLD);
    }, 180_000);
  }

  it('a hold found only after it was recorded, behind a prune statement appended meanwhile, is reported', async () => {
    const url = ledger(f, 'behind');
    await seed(f, url);
    const seen = (await seqRange(url)).n;
    const killed = pruneWithoutLock(url, (at) => {
      if (at === 'sealed') throw new Error('killed once sealed');
    });
    await expect(killed).rejects.toThrow(/killed once/);
    const at = (await seqRange(url)).n;
    const scope = { from: Date.now() - 450 * DAY, to: Date.now() - 380 * DAY };
    await expect(refuseHoldAfterPrune(url, seen, at, scope, trustKeys(keysOf()))).rejects.toThrow(
      /prune statement removing records 0\.\.199 was appended at row \d+ while it was placed/,
    );
    const young = { from: Date.now() - DAY, to: Date.now() + DAY };
    await expect(refuseHoldAfterPrune(url, seen, at, young, trustKeys(keysOf()))).resolves.toBeUndefined();
  }, 180_000);
});

// Prune checks holds by the rule verify judges tombstones by (a hold over the span
// of the cut's record times), so a prune it allows is never called a cut under a
// hold afterwards. Red team: a hold over a gap between record times let prune cut,
// and then verify failed and every writer stopped signing.
describe('prune and verify judge a hold alike', () => {
  it('a hold over a gap in the record times stops prune', async () => {
    const url = ledger(f, 'gap');
    await write(f, url, 100, Date.now() - 500 * DAY, 'older');
    await write(f, url, 100, Date.now() - 400 * DAY, 'old');
    await write(f, url, 50, Date.now(), 'young');
    const args = HOLD();
    args.splice(2, 0, url);
    args[args.indexOf('--from') + 1] = iso(Date.now() - 460 * DAY);
    args[args.indexOf('--to') + 1] = iso(Date.now() - 440 * DAY);
    const h = await runBin(args);
    expect(h.code, h.err).toBe(0);
    const r = await prune(f, url);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('legal hold LIT-9');
    expect((await seqRange(url)).lo).toBe(0);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
  }, 180_000);
});
