import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addCheckpoint,
  mergeCosignatures,
  openCheckpoint,
  parseNote,
  SqliteStore,
  type VerifyReport,
} from '../../packages/core/src/index.js';
import { runBin } from '../faults/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { type Running, serveWitness, witnessConfig } from './harness.js';
import { type SealedLedger, sealedLedger } from './ledger.js';

// Issue 16 end to end: `sealog verify --witness W --quorum n` against ledgers
// whose checkpoints a real `sealog witness serve` process cosigned, stored the
// way the writer stores them (the merged note as one more checkpoint row).
// The attack: the log key is stolen, history rewritten and re-signed with it.
// Every forged checkpoint carries a valid log signature and a fresh time line,
// so the log key alone cannot tell; the witness never cosigned the fork.

const ORIGIN = 'audit.example/payments';
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

/** Stores `note` as one more checkpoint row at the ledger's current head (the writer's contract). */
async function storeRow(path: string, note: string): Promise<void> {
  const store = new SqliteStore(path);
  try {
    await store.addCheckpoint(store.head(), note, Date.now());
  } finally {
    store.close();
  }
}

/** Grows the ledger by n, has the witness cosign the new checkpoint, stores the merged note. */
async function growWitnessed(l: SealedLedger, url: string, old: number, n: number): Promise<number> {
  const note = await l.grow(n);
  const size = openCheckpoint(note, [l.logKey]).checkpoint.size;
  const r = await addCheckpoint(url, { oldSize: old, proof: l.proof(old, size), note });
  if (!r.ok) throw new Error(`witness refused: ${JSON.stringify(r)}`);
  await storeRow(l.path, mergeCosignatures(note, r.lines));
  return size;
}

/** The notes of a ledger's checkpoint rows, in row order. */
function rows(path: string): { id: number; size: number; note: string }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT id, size, note FROM checkpoints ORDER BY id').all() as {
      id: number;
      size: number;
      note: string;
    }[];
  } finally {
    db.close();
  }
}

/** Inserts a checkpoint row with plain SQL, the way anyone who can write the file can. */
function insertRow(path: string, size: number, note: string): void {
  const db = new Database(path);
  try {
    db.prepare(
      'INSERT INTO checkpoints (size, note, created_at, chain_head, compact) SELECT size, ?, created_at, chain_head, compact FROM checkpoints WHERE size = ? LIMIT 1',
    ).run(note, size);
  } finally {
    db.close();
  }
}

async function verifyJson(
  args: string[],
): Promise<{ code: number | null; report: VerifyReport; err: string }> {
  const r = await runBin(['verify', ...args, '--json']);
  return { code: r.code, report: JSON.parse(r.out || 'null') as VerifyReport, err: r.err };
}

describe('sealog verify with a witness quorum, against a stolen log key', () => {
  it('the rewritten history passes on the log key alone and fails with --witness W --quorum 1', async () => {
    const dir = tempDir();
    const honest = await sealedLedger(dir, 'honest.db', ORIGIN);
    const { config, verifierKey: W } = await witnessConfig(dir, [{ origin: ORIGIN, key: honest.logKey }]);
    const w = await serveWitness(config);
    running.push(w);
    let old = 0;
    for (const n of [4, 6, 15]) old = await growWitnessed(honest, w.url, old, n);

    // The honest ledger: every checkpoint witnessed.
    const good = await runBin(['verify', honest.path, '--key', honest.logKey, '--witness', W, '--strict']);
    expect(good.err).toBe('');
    expect(good.code).toBe(0);
    expect(good.out).toContain(
      'witnesses: 3 of 3 valid checkpoint(s) witnessed (quorum 1 of 1); cosigned by witness.example/w1 (3)',
    );
    expect(good.out).toContain(
      'OK: intact, every record covered by a valid checkpoint witnessed by 1 of 1 (witness.example/w1)',
    );

    // The attacker: the real key file, records 4..9 rewritten, re-sealed to 25.
    const forged = await sealedLedger(tempDir(), 'forged.db', ORIGIN, honest.keyFile);
    await forged.grow(4);
    await forged.grow(6, 'rewritten');
    const forged25 = await forged.grow(15);
    // The witness will not cosign the fork (test/witness/fork.test.ts has every variant).
    const refused = await addCheckpoint(w.url, { oldSize: 25, proof: [], note: forged25 });
    expect(refused.ok).toBe(false);
    // The forged file replaces the honest one.
    copyFileSync(forged.path, honest.path);

    // On the log key alone the rewrite is intact: this is what a witness policy is for.
    const blind = await runBin(['verify', honest.path, '--key', honest.logKey, '--strict']);
    expect(blind.code).toBe(0);
    expect(blind.out).toContain('OK: intact, every record covered by a valid checkpoint');

    const caught = await verifyJson([honest.path, '--key', honest.logKey, '--witness', W, '--quorum', '1']);
    expect(caught.code).toBe(1);
    expect(caught.report.findings.map((f) => f.kind)).toEqual(['no-checkpoint']);
    expect(caught.report.findings[0]!.message).toMatch(
      /no checkpoint cosigned by 1 of the 1 given witness \(--witness, --quorum\) covers any of the 25 record\(s\): checkpoints signed by the log key cover 25 of them but await witness cosignatures/,
    );
    expect(caught.report.checkpoints.map((c) => [c.size, c.valid, c.witnessed, c.witnesses])).toEqual([
      [4, true, false, []],
      [10, true, false, []],
      [25, true, false, []],
    ]);
    const human = await runBin(['verify', honest.path, '--key', honest.logKey, '--witness', W]);
    expect(human.code).toBe(1);
    expect(human.out).toContain(
      'witnesses: 0 of 3 valid checkpoint(s) witnessed (quorum 1 of 1); cosigned by witness.example/w1 (0)',
    );
  });

  it("W's cosigned notes kept beside the fork: their roots no longer match; grafted lines are bad-cosignature", async () => {
    const dir = tempDir();
    const honest = await sealedLedger(dir, 'honest.db', ORIGIN);
    const { config, verifierKey: W } = await witnessConfig(dir, [{ origin: ORIGIN, key: honest.logKey }]);
    const w = await serveWitness(config);
    running.push(w);
    let old = 0;
    for (const n of [4, 6, 15]) old = await growWitnessed(honest, w.url, old, n);
    const witnessedNotes = rows(honest.path).filter((r) => r.note.includes('witness.example/w1'));
    expect(witnessedNotes.map((r) => r.size)).toEqual([4, 10, 25]);

    const forgedDir = tempDir();
    const make = async (name: string) => {
      const f = await sealedLedger(forgedDir, name, ORIGIN, honest.keyFile);
      await f.grow(4);
      await f.grow(6, 'rewritten');
      await f.grow(15);
      return f;
    };

    // (a) The honest witnessed notes kept as rows. Every record differs (the
    // writer stamps its receive time), so none of W's roots matches the records.
    const kept = await make('kept.db');
    for (const r of witnessedNotes) insertRow(kept.path, r.size, r.note);
    const a = await verifyJson([kept.path, '--key', honest.logKey, '--witness', W, '--quorum', '1']);
    expect(a.code).toBe(1);
    expect(a.report.findings.map((f) => f.kind)).toEqual([
      'checkpoint-mismatch',
      'checkpoint-mismatch',
      'checkpoint-mismatch',
      'no-checkpoint',
    ]);
    expect(a.report.checkpoints.filter((c) => c.witnessed).map((c) => [c.size, c.valid])).toEqual([
      [4, false],
      [10, false],
      [25, false],
    ]);
    expect(a.report.sealed).toBe(0);

    // (b) W's lines grafted onto the forged notes of the same sizes.
    const grafted = await make('grafted.db');
    for (const r of witnessedNotes) {
      const forgedNote = rows(grafted.path).find((x) => x.size === r.size)!.note;
      const lines = r.note
        .slice(parseNote(r.note).text.length + 1)
        .split('\n')
        .filter((l) => l.startsWith('\u2014 witness.example/w1 '));
      insertRow(grafted.path, r.size, mergeCosignatures(forgedNote, lines));
    }
    const b = await verifyJson([grafted.path, '--key', honest.logKey, '--witness', W]);
    expect(b.code).toBe(1);
    expect(b.report.findings.map((f) => f.kind)).toEqual([
      'bad-cosignature',
      'bad-cosignature',
      'bad-cosignature',
      'no-checkpoint',
    ]);
    expect(b.report.findings[0]!.message).toMatch(
      /the cosignature line by witness witness\.example\/w1 does not verify/,
    );
  });
});

describe('sealog verify --witness / --witness-file / --quorum arguments', () => {
  it('reads keys like --key, and every mistake is a usage error (exit 2) naming the flag', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 'l.db', ORIGIN);
    await l.grow(3);
    const { verifierKey: W } = await witnessConfig(dir, [{ origin: ORIGIN, key: l.logKey }]);
    const keys = join(dir, 'witnesses.txt');
    writeFileSync(keys, `# our witnesses\n${W}\n`);
    const logAsWitness = join(dir, 'wrong.txt');
    writeFileSync(logAsWitness, `${l.logKey}\n`);
    const base = ['verify', l.path, '--key', l.logKey];
    const cases: [string, string[], RegExp][] = [
      [
        'a path given to --witness',
        ['--witness', keys],
        /--witness ".*witnesses\.txt" is not a verifier key: .*use --witness-file/,
      ],
      [
        'a typo in the file name',
        ['--witness-file', `${keys}x`],
        /cannot read witness key file .*witnesses\.txtx: no such file/,
      ],
      [
        'a log key as witness',
        ['--witness', l.logKey],
        /--witness ".*": audit\.example\/payments is a log signing key \(type 0x01\), not a witness key/,
      ],
      [
        'a log key in the file',
        ['--witness-file', logAsWitness],
        /E_KEY: witness key file .*wrong\.txt, key 1: .*log signing key/,
      ],
      [
        'quorum above the witnesses',
        ['--witness', W, '--witness', W, '--quorum', '2'],
        /--quorum must be from 1 to 1/,
      ],
      ['quorum 0', ['--witness', W, '--quorum', '0'], /--quorum must be from 1 to 1 .*got 0/],
      ['quorum not a number', ['--witness', W, '--quorum', 'all'], /--quorum must be a non-negative integer/],
      ['quorum alone', ['--quorum', '1'], /--quorum needs --witness/],
    ];
    for (const [what, extra, message] of cases) {
      const r = await runBin([...base, ...extra]);
      expect(r.code, what).toBe(2);
      expect(r.err, what).toMatch(message);
    }
    const noKey = await runBin(['verify', l.path, '--witness', W]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/give --key or --key-file too/);
    const chainOnly = await runBin(['verify', l.path, '--chain-only', '--witness', W]);
    expect(chainOnly.code).toBe(2);

    // The file form works, and an unwitnessed ledger fails with it.
    const r = await verifyJson([l.path, '--key', l.logKey, '--witness-file', keys]);
    expect(r.code).toBe(1);
    expect(r.report.witness).toMatchObject({
      quorum: 1,
      witnesses: [{ vkey: W, cosigned: 0 }],
      witnessed: 0,
    });
  });
});
