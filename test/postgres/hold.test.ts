// Legal hold on a PostgreSQL ledger (issue 18 items 2 and 5): `sealog hold
// add|release postgres://…` appends a signed, sealed statement; `sealog prune
// postgres://…` refuses while an active hold covers a record it would remove,
// and proceeds otherwise. The attacker is an insider who can append rows (a
// writer's role) but does not hold the signing key: a release they plant, even
// sealed by a writer, or copied from another ledger, must not unlock prune.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createWriterTrust,
  fileCheckpointKey,
  loadSignerKeyFile,
  type PendingEntry,
  sealHead,
} from '../../packages/core/src/index.js';
import {
  holdNoteHash,
  signStatement,
  statementEntry,
  statementNoteOf,
} from '../../packages/core/src/segments/statements.js';
import { PgStore } from '../../packages/core/src/store/postgres/store.js';
import { psql } from '../helpers/postgres.js';
import { keygen, runBin, table, verify } from './harness.js';
import { DAY, ledger, OLD, prune, pruneFixture, seed, seqRange, write, YOUNG } from './prune-helpers.js';

const f = pruneFixture('pg_hold');
const iso = (ms: number) => new Date(ms).toISOString();
/** A range over the seeded old records (400 days old), which a 365d prune removes. */
const OLD_RANGE = () => ['--from', iso(Date.now() - 450 * DAY), '--to', iso(Date.now() - 380 * DAY)];

const hold = (url: string, ...more: string[]) =>
  runBin(['hold', 'add', url, '--reason', 'LIT-2026-004 discovery', '--key', f.key.keyFile, ...more]);
const release = (url: string, id: string) =>
  runBin(['hold', 'release', url, '--id', id, '--reason', 'LIT-2026-004 closed', '--key', f.key.keyFile]);

/** Appends `entries` to the ledger and, unless told not to, seals them with the real key (a writer sealing what it finds). */
async function append(url: string, entries: PendingEntry[], seal = true): Promise<void> {
  const key = fileCheckpointKey(loadSignerKeyFile(f.key.keyFile), f.key.keyFile);
  const store = await PgStore.open(url, { create: false, trust: createWriterTrust({}, key, () => {}) });
  try {
    await store.append(entries);
    if (seal) await sealHead(store, key);
  } finally {
    await store.close();
    await key.close();
  }
}

/** A ledger of OLD old and YOUNG young records with hold `id` placed on the old ones; returns the hold's note. */
async function held(url: string, id: string): Promise<string> {
  await seed(f, url);
  const h = await hold(url, '--id', id, ...OLD_RANGE());
  expect(h.code, h.err).toBe(0);
  expect(h.err).toContain(`placed legal hold ${id}`);
  return h.out;
}

async function expectRefusedBy(url: string, id: string): Promise<void> {
  const r = await prune(f, url);
  expect(r.code, r.out + r.err).toBe(2);
  expect(r.err).toContain(`legal hold ${id}`);
  expect((await seqRange(url)).lo).toBe(0);
}

describe('sealog hold on a PostgreSQL ledger', () => {
  it('a hold stops prune, verify and hold list show it, and after its release prune proceeds', async () => {
    const url = ledger(f, 'held');
    await held(url, 'LIT-1');
    await expectRefusedBy(url, 'LIT-1');
    expect((await prune(f, url, '--dry-run')).code).toBe(2);
    const v = await verify(url, f.key.pub);
    expect(v.code, v.text).toBe(0);
    const holds = (v.report as unknown as { holds: { id: string; active: boolean; sealed: boolean }[] })
      .holds;
    expect(holds).toMatchObject([{ id: 'LIT-1', active: true, sealed: true }]);
    const text = await runBin(['verify', url, '--key-file', f.key.pub]);
    expect(text.out).toMatch(/legal holds:\n {2}row \d+: LIT-1 {2}ACTIVE {2}records /);
    const list = await runBin(['hold', 'list', url, '--key-file', f.key.pub]);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toContain('LIT-1  ACTIVE');
    // An id is used once; a release names an active hold.
    expect((await hold(url, '--id', 'LIT-1', ...OLD_RANGE())).err).toContain('already exists');
    expect((await release(url, 'LIT-9')).err).toContain('no active legal hold "LIT-9"');
    const rel = await release(url, 'LIT-1');
    expect(rel.code, rel.err).toBe(0);
    expect((await runBin(['hold', 'list', url, '--key-file', f.key.pub])).out).toContain('LIT-1  released');
    const p = await prune(f, url);
    expect(p.code, p.err).toBe(0);
    expect((await seqRange(url)).lo).toBe(OLD);
    const after = await verify(url, f.key.pub);
    expect(after.code, after.text).toBe(0);
  }, 180_000);

  it('a hold on records prune does not remove lets it proceed', async () => {
    const url = ledger(f, 'young');
    await seed(f, url);
    const h = await hold(
      url,
      '--id',
      'LIT-2',
      '--from',
      iso(Date.now() - 30 * DAY),
      '--to',
      iso(Date.now() + DAY),
    );
    expect(h.code, h.err).toBe(0);
    const p = await prune(f, url);
    expect(p.code, p.err).toBe(0);
    expect((await seqRange(url)).lo).toBe(OLD);
    expect((await seqRange(url)).n).toBeGreaterThanOrEqual(YOUNG);
  }, 180_000);

  it('a release an insider appends, sealed by a writer but signed by another key, ends nothing', async () => {
    const url = ledger(f, 'forged');
    const note = await held(url, 'LIT-3');
    // The insider's key has the ledger's name; only its key ID differs.
    const evil = await keygen(mkdtempSync(join(tmpdir(), 'sealog-evil-')));
    const key = fileCheckpointKey(loadSignerKeyFile(evil.keyFile), evil.keyFile);
    const forged = {
      type: 'release' as const,
      origin: key.name,
      id: 'LIT-3',
      time: Date.now(),
      reason: 'closed',
      hold: holdNoteHash(note),
    };
    const forgedNote = await signStatement(forged, key.log);
    await key.close();
    await append(url, [statementEntry(forgedNote, forged, Date.now())]);
    await expectRefusedBy(url, 'LIT-3');
    // Reported, and a failure: verify and hold list name the row.
    const v = await runBin(['verify', url, '--key-file', f.key.pub]);
    expect(v.code, v.out).toBe(1);
    expect(v.out).toContain('hold release statement not signed by a given key');
    const list = await runBin(['hold', 'list', url, '--key-file', f.key.pub]);
    expect(list.code).toBe(1);
    expect(list.out).toContain('LIT-3  ACTIVE');
  }, 180_000);

  it("a genuine release copied from another ledger's hold of the same id ends nothing", async () => {
    const a = ledger(f, 'copy_a');
    const b = ledger(f, 'copy_b');
    await held(a, 'LIT-4');
    await held(b, 'LIT-4');
    expect((await release(a, 'LIT-4')).code).toBe(0);
    // The release row of ledger a, appended (and sealed) in ledger b.
    const rows = await psql<{ entry: Buffer }>(
      a,
      `SELECT entry FROM ${table(a, 'records')} WHERE position('holdRelease' in convert_from(entry, 'UTF8')) > 0`,
    );
    expect(rows).toHaveLength(1);
    const copied = rows[0]!.entry;
    expect(statementNoteOf(copied.toString('utf8'))?.type).toBe('release');
    await append(b, [{ entry: copied, ts: (JSON.parse(copied.toString('utf8')) as { time: number }).time }]);
    await expectRefusedBy(b, 'LIT-4');
  }, 180_000);

  it('a signed hold statement no checkpoint covers yet stops prune until it is sealed', async () => {
    const url = ledger(f, 'unsealed');
    await held(url, 'LIT-5');
    expect((await release(url, 'LIT-5')).code).toBe(0);
    // A hold signed by the key but left unsealed (hold add killed between its append and its seal).
    const key = fileCheckpointKey(loadSignerKeyFile(f.key.keyFile), f.key.keyFile);
    const s = {
      type: 'hold' as const,
      origin: key.name,
      id: 'LIT-6',
      time: Date.now(),
      reason: 'LIT-6',
      scope: { from: Date.now() - 450 * DAY, to: Date.now() - 380 * DAY },
    };
    const note = await signStatement(s, key.log);
    await key.close();
    await append(url, [statementEntry(note, s, Date.now())], false);
    const r = await prune(f, url);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('no valid checkpoint covers yet');
    expect((await seqRange(url)).lo).toBe(0);
    // Running hold add again says what is left to do: seal it.
    const again = await hold(url, '--id', 'LIT-6', ...OLD_RANGE());
    expect(again.code).toBe(2);
    expect(again.err).toContain('is recorded at row');
    expect(again.err).toContain('no checkpoint covers it yet');
    const c = await runBin(['checkpoint', url, '--key', f.key.keyFile]);
    expect(c.code, c.err).toBe(0);
    await expectRefusedBy(url, 'LIT-6');
  }, 180_000);

  it('prune does not remove the row that records an active hold, even when the hold covers none of them', async () => {
    const url = ledger(f, 'own_row');
    const old = Date.now() - 400 * DAY;
    await write(f, url, OLD, old, 'old');
    // A hold placed long ago (its row is as old as the records), on times no record has.
    const key = fileCheckpointKey(loadSignerKeyFile(f.key.keyFile), f.key.keyFile);
    const s = {
      type: 'hold' as const,
      origin: key.name,
      id: 'LIT-8',
      time: old + OLD,
      reason: 'LIT-8',
      scope: { from: Date.now() + 100 * DAY, to: Date.now() + 200 * DAY },
    };
    const note = await signStatement(s, key.log);
    await key.close();
    await append(url, [statementEntry(note, s, old + OLD)]);
    await write(f, url, YOUNG, Date.now(), 'young');
    const r = await prune(f, url);
    expect(r.code, r.out + r.err).toBe(2);
    expect(r.err).toContain(`legal hold LIT-8`);
    expect(r.err).toContain(`is recorded at row ${OLD}`);
    expect((await seqRange(url)).lo).toBe(0);
  }, 180_000);

  it('hold and prune run one at a time; --segment is refused', async () => {
    const url = ledger(f, 'locked');
    await seed(f, url);
    const seg = await hold(url, '--segment', '1');
    expect(seg.code).toBe(2);
    expect(seg.err).toContain('has no segments');
    // Another hold or prune holds the ledger's hold lock (as a running one would).
    const schema = new URL(url).searchParams.get('schema');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(${0x5ea1}, hashtext('${schema}:hold'))`);
      const h = await hold(url, '--id', 'LIT-7', ...OLD_RANGE());
      expect(h.code).toBe(2);
      expect(h.err).toContain('another sealog prune or hold is working on');
      const p = await prune(f, url);
      expect(p.code).toBe(2);
      expect(p.err).toContain('another sealog prune or hold is working on');
      expect((await seqRange(url)).lo).toBe(0);
    } finally {
      await client.end();
    }
    expect((await hold(url, '--id', 'LIT-7', ...OLD_RANGE())).code).toBe(0);
  }, 180_000);

  it('erase refuses a PostgreSQL ledger, says why, and changes nothing', async () => {
    const url = ledger(f, 'erase');
    await seed(f, url);
    const before = await psql<{ entry: Buffer }>(
      url,
      `SELECT entry FROM ${table(url, 'records')} WHERE seq = 3`,
    );
    const args = ['erase', url, '--seq', '3', '--reason', 'DSR-1042', '--key', f.key.keyFile, '--yes'];
    const r = await runBin(args);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('sealog erase refuses a PostgreSQL ledger, and nothing was changed');
    expect(r.err).toContain('cannot yet take an erased row');
    const after = await psql<{ entry: Buffer }>(
      url,
      `SELECT entry FROM ${table(url, 'records')} WHERE seq = 3`,
    );
    expect(after[0]!.entry.equals(before[0]!.entry)).toBe(true);
    expect((await verify(url, f.key.pub)).code).toBe(0);
  }, 120_000);
});
