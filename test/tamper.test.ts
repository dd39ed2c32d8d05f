import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { chainHash, leafHash } from '../packages/core/src/hash.js';
import {
  entryOf,
  type Fixture,
  makeLedger,
  rechain,
  renumber,
  swapRows,
  tamper,
} from '../packages/core/src/verify/__tests__/fixture.js';
import type { VerifyReport } from '../packages/core/src/verify/types.js';
import { BIN, runBin } from './helpers/bin.js';
import { runCli } from './helpers/cli.js';

// The tamper matrix, on real ledger files written by the store and the
// checkpoint signer, edited with better-sqlite3 after dropping the triggers,
// and checked by the real `sealog` binary in a child process.

const sealog = (args: string[]) => runBin(args, { timeoutMs: 0 });

function keyFile(f: Fixture): string {
  const p = join(f.dir, 'verifier-keys.txt');
  writeFileSync(p, `${f.vkey}\n${f.cosignerVkey}\n`);
  return p;
}

interface Case {
  name: string;
  edit: (db: Database.Database, f: Fixture) => void;
  kind: string;
  /** Extra verify arguments (a trusted checkpoint file, --strict). */
  args?: (f: Fixture) => string[];
  /** Text the human output must contain. */
  says?: string;
}

const matrix: Case[] = [
  {
    name: 'one byte of one entry changed',
    edit: (db) => {
      const e = Buffer.from(entryOf(41));
      e[10] = (e[10] ?? 0) ^ 0x20;
      db.prepare('UPDATE records SET entry = ? WHERE seq = 41').run(e);
    },
    kind: 'modified',
    says: 'row 41: entry modified (stored chain does not match)',
  },
  {
    name: 'a row deleted',
    edit: (db) => db.prepare('DELETE FROM records WHERE seq = 17').run(),
    kind: 'deleted',
    says: 'row 17: missing (deleted)',
  },
  {
    name: 'a row inserted',
    edit: (db) => {
      const prev = (db.prepare('SELECT chain FROM records WHERE seq = 59').get() as { chain: Buffer }).chain;
      renumber(db, 60, 1);
      const e = Buffer.from('{"level":30,"msg":"forged"}');
      db.prepare('INSERT INTO records (seq, ts, entry, chain) VALUES (60, 0, ?, ?)').run(
        e,
        chainHash(prev, leafHash(e)),
      );
    },
    kind: 'inserted',
    says: 'row 60: inserted',
  },
  {
    name: 'two rows swapped',
    edit: (db) => swapRows(db, 5, 70),
    kind: 'reordered',
    says: 'row 5: reordered (sealed as record 70)',
  },
  {
    name: 'the tail truncated (relative to a trusted checkpoint)',
    edit: (db) => {
      db.prepare('DELETE FROM records WHERE seq >= 90').run();
      db.prepare('DELETE FROM checkpoints WHERE size > 90').run();
      rechain(db);
    },
    kind: 'truncated',
    args: (f) => ['--checkpoint', f.anchor],
    says: 'signs 100 records but the file holds 90',
  },
  {
    name: 'the last checkpoint deleted (anchor file)',
    edit: (db) => db.prepare('DELETE FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)').run(),
    kind: 'deleted',
    args: (f) => ['--checkpoint', f.anchor],
  },
  {
    name: 'the last checkpoint deleted (--strict)',
    edit: (db) => db.prepare('DELETE FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)').run(),
    kind: 'unsealed',
    args: () => ['--strict'],
  },
  {
    name: 'everything re-chained without the key',
    edit: (db) => {
      db.prepare('UPDATE records SET entry = ? WHERE seq = 3').run(
        Buffer.from('{"level":30,"msg":"rewritten"}'),
      );
      rechain(db);
    },
    kind: 'checkpoint-mismatch',
  },
  {
    name: "a checkpoint's size column altered",
    edit: (db) => db.prepare('UPDATE checkpoints SET size = size + 1 WHERE id = 1').run(),
    kind: 'checkpoint-mismatch',
  },
  {
    name: "a checkpoint's signed root altered",
    edit: (db) => editNote(db, 2, (n) => n.replace(/\n(.)/, (_m, c: string) => `\n${c === 'Q' ? 'R' : 'Q'}`)),
    kind: 'bad-signature',
  },
  {
    name: "a checkpoint's signed size altered",
    edit: (db) => editNote(db, 2, (n) => n.replace('\n50\n', '\n49\n')),
    kind: 'bad-signature',
  },
  {
    name: "a checkpoint's signature altered",
    edit: (db) =>
      editNote(db, 3, (n) =>
        n.replace(/(\u2014 \S+ .{30})(.)/, (_m, p: string, c: string) => `${p}${c === 'x' ? 'y' : 'x'}`),
      ),
    kind: 'bad-signature',
  },
  {
    name: 'a checkpoint from another origin swapped in',
    edit: (db, f) => {
      const other = makeLedger({ records: 100, every: 25, origin: 'other.example/log', dir: f.dir });
      const anchor = readFileSync(other.anchor, 'utf8');
      db.prepare('UPDATE checkpoints SET note = ? WHERE id = 4').run(
        anchor.slice(anchor.lastIndexOf('other.example/log\n')).replace(/\n$/, ''),
      );
      writeFileSync(join(f.dir, 'other-vkey.txt'), other.vkey);
    },
    kind: 'wrong-origin',
    args: (f) => ['--key-file', join(f.dir, 'other-vkey.txt')],
  },
];

function editNote(db: Database.Database, id: number, fn: (note: string) => string): void {
  const note = (db.prepare('SELECT note FROM checkpoints WHERE id = ?').get(id) as { note: string }).note;
  const changed = fn(note);
  if (changed === note) throw new Error('edit did not change the note');
  db.prepare('UPDATE checkpoints SET note = ? WHERE id = ?').run(changed, id);
}

describe('sealog verify: the tamper matrix (real binary)', () => {
  it('the binary is built', () => {
    expect(existsSync(BIN), 'run `npx turbo run build` first').toBe(true);
  });

  it('an untouched ledger verifies with exit 0, also against its anchor file under --strict', async () => {
    const f = makeLedger({ records: 100, every: 25 });
    const r = await sealog([
      'verify',
      f.path,
      '--key-file',
      keyFile(f),
      '--checkpoint',
      f.anchor,
      '--strict',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('OK: intact, every record covered by a valid checkpoint');
  });

  for (const c of matrix) {
    it(`${c.name}: ${c.kind}, exit 1`, async () => {
      const f = makeLedger({ records: 100, every: 25 });
      tamper(f.path, (db) => c.edit(db, f));
      const extra = c.args?.(f) ?? [];
      const human = await sealog(['verify', f.path, '--key-file', keyFile(f), ...extra]);
      expect(human.code, human.out + human.err).toBe(1);
      expect(human.out).toContain('FAILED');
      if (c.says) expect(human.out).toContain(c.says);
      const json = await sealog(['verify', f.path, '--key-file', keyFile(f), '--json', ...extra]);
      expect(json.code).toBe(1);
      const report = JSON.parse(json.out) as VerifyReport;
      expect(report.ok).toBe(false);
      expect(report.findings.map((x) => x.kind)).toContain(c.kind);
    });
  }
});

describe('sealog prove / verify-proof (in process)', () => {
  it('round-trips an inclusion and a consistency proof, and rejects an edited one with exit 1', async () => {
    const f = makeLedger({ records: 100, every: 25 });
    const proof = join(f.dir, 'p.json');
    expect((await runCli(['prove', f.path, '--seq', '42', '--key', f.vkey, '--out', proof])).code).toBe(0);
    const ok = await runCli(['verify-proof', proof, '--key-file', keyFile(f)]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('OK: record 42 is in audit.example/log at tree size 100');
    const c = await runCli(['prove', f.path, '--from-size', '25', '--to-size', '75', '--key', f.vkey]);
    expect(c.code).toBe(0);
    writeFileSync(proof, c.out);
    expect((await runCli(['verify-proof', proof, '--key', f.vkey])).code).toBe(0);
    const bundle = JSON.parse(c.out) as { proof: string[] };
    bundle.proof.pop();
    writeFileSync(proof, JSON.stringify(bundle));
    const bad = await runCli(['verify-proof', proof, '--key', f.vkey, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, problem: 'mismatch' });
    writeFileSync(proof, '{not json');
    expect((await runCli(['verify-proof', proof, '--key', f.vkey])).code).toBe(2);
  });

  it('usage errors exit 2', async () => {
    const f = makeLedger({ records: 3, every: 3 });
    // No key is no longer a usage error: verify checks the chain and fails with no-trusted-key (exit 1).
    expect((await runCli(['verify', f.path])).code).toBe(1);
    expect((await runCli(['verify', f.path, '--chain-only', '--key', f.vkey])).code).toBe(2);
    expect((await runCli(['verify', f.path, '--key', 'not-a-key'])).code).toBe(2);
    expect((await runCli(['prove', f.path])).code).toBe(2);
    expect((await runCli(['prove', f.path, '--seq', '1'])).code).toBe(2); // no key
    expect((await runCli(['prove', f.path, '--key', f.vkey, '--seq', '1', '--to-size', '3'])).code).toBe(2);
  });
});
