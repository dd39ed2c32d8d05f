import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anchorTimestampsPath,
  loadSignerKeyFile,
  openCheckpoint,
  requestTimestamp,
  SqliteStore,
  signCheckpoint,
  splitAnchorTimestamps,
  type VerifyOptions,
  verifyLedger,
} from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';
import { checkpointRows, type Setup } from './harness.js';
import { downUrl, setupIn, writeStamped } from './verify-fixture.js';

// The verify side of RFC 3161 (issue 16, item 2): verifyLedger with TSA trust
// anchors checks every token of the ledger and of the anchor's token file
// against the exact note it names, shows the TSA time beside the log's, and
// under `tsa: 'required'` lets only a timestamped checkpoint seal records —
// so a history rewritten and re-signed with a stolen log key fails.

let pki: TestPki;
let other: TestPki;
let tsa: TestTsa;
/** An honest ledger written with a working TSA. */
let honest: Setup;
/** The same log written while the TSA was down: no tokens. */
let down: Setup;

/** Kept for the whole file (tempDir() is removed after each test). */
let shared: string;
const write = writeStamped;

beforeAll(async () => {
  shared = mkdtempSync(join(tmpdir(), 'sealog-verify-tsa-'));
  pki = await createTestPki();
  other = await createTestPki({ name: 'look-alike' });
  tsa = await startTestTsa(pki);
  honest = setupIn(shared, 'honest', pki);
  await write(honest, tsa.url);
  down = setupIn(shared, 'down', pki);
  await write(down, await downUrl(pki), 3);
}, 120_000);
afterAll(async () => {
  await tsa?.close();
  await pki?.dispose();
  await other?.dispose();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

const opts = (t: Setup, extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
  keys: t.keys,
  tsaAnchors: pki.caPem,
  ...extra,
});

/** A copy of the honest ledger whose token table `edit` may change (the append-only triggers dropped). */
function editedCopy(edit: (db: Database.Database) => void): string {
  const path = join(tempDir(), 'copy.db');
  copyFileSync(honest.path, path);
  const db = new Database(path);
  try {
    db.exec('DROP TRIGGER IF EXISTS checkpoint_timestamps_no_update');
    db.exec('DROP TRIGGER IF EXISTS checkpoint_timestamps_no_delete');
    edit(db);
  } finally {
    db.close();
  }
  return path;
}

describe('verifyLedger with TSA anchors', () => {
  it('required + a token on every checkpoint: ok, TSA time beside the log time', () => {
    const r = verifyLedger(honest.path, opts(honest, { tsa: 'required' }));
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.sealed).toBe(300);
    expect(r.tsa).toMatchObject({ mode: 'required', stampedSize: 300, logSealed: 300, unmatched: 0 });
    expect(r.tsa!.timestamped).toBe(r.tsa!.checkpoints);
    expect(r.tsa!.stampedBy).toMatch(/sealog test/);
    for (const c of r.checkpoints) {
      expect(c.timestamped).toBe(true);
      expect(c.tsa).toMatch(/sealog test/);
      // The log's signed time (s) and the TSA's (ms) agree within the writer's delay.
      expect(Math.abs(c.tsaTime! - c.time! * 1000)).toBeLessThan(60_000);
    }
  });

  it('the anchor and its token file given: the same tokens, counted once', () => {
    const notes = readFileSync(honest.anchor, 'utf8');
    const { timestamps } = splitAnchorTimestamps(readFileSync(anchorTimestampsPath(honest.anchor), 'utf8'));
    const r = verifyLedger(
      honest.path,
      opts(honest, { tsa: 'required', trusted: [notes], trustedTimestamps: timestamps }),
    );
    expect(r.findings).toEqual([]);
    expect(r.tsa!.tokens).toBe(checkpointRows(honest.path).length);
    expect(r.checkpoints.filter((c) => c.source === 'trusted').every((c) => c.timestamped)).toBe(true);
  });

  it('required while the TSA was down (no token): fails naming the policy', () => {
    const r = verifyLedger(down.path, opts(down, { tsa: 'required' }));
    expect(r.ok).toBe(false);
    expect(r.sealed).toBe(0);
    const f = r.findings.find((x) => x.kind === 'no-checkpoint');
    expect(f?.message).toMatch(/--tsa required.*await a trusted timestamp/);
    // The log key alone still checks out.
    expect(verifyLedger(down.path, { keys: down.keys }).ok).toBe(true);
  });

  it('best-effort with no token: ok, the checkpoints reported untimestamped', () => {
    const r = verifyLedger(down.path, opts(down));
    expect(r.ok).toBe(true);
    expect(r.sealed).toBe(150);
    expect(r.tsa).toMatchObject({ mode: 'best-effort', tokens: 0, timestamped: 0 });
    expect(r.findings.map((f) => f.kind)).toEqual(['untimestamped']);
    expect(r.checkpoints.every((c) => c.timestamped === false)).toBe(true);
  });

  it('a token from another CA: bad-timestamp (untrusted chain), a failure', () => {
    const r = verifyLedger(honest.path, opts(honest, { tsaAnchors: other.caPem }));
    expect(r.ok).toBe(false);
    const bad = r.findings.filter((f) => f.kind === 'bad-timestamp');
    expect(bad.length).toBe(checkpointRows(honest.path).length);
    expect(bad[0]!.message).toMatch(/untrusted chain/);
    expect(bad[0]!.checkpointId).toBeTypeOf('number');
  });

  it('a flipped token byte in the table: a finding, never a crash', () => {
    const sig = editedCopy((db) => {
      const row = db
        .prepare('SELECT rowid AS rowid_, token FROM checkpoint_timestamps ORDER BY rowid LIMIT 1')
        .get() as {
        rowid_: number;
        token: Buffer;
      };
      row.token[row.token.length - 1]! ^= 0x01; // inside the CMS signature (the last field)
      db.prepare('UPDATE checkpoint_timestamps SET token = ? WHERE rowid = ?').run(row.token, row.rowid_);
    });
    const r = verifyLedger(sig, opts(honest, { tsa: 'required' }));
    expect(r.ok).toBe(false);
    expect(r.findings.find((f) => f.kind === 'bad-timestamp')?.message).toMatch(
      /bad signature|does not verify/,
    );

    // Every 97th byte of one token flipped: never a crash, most are findings.
    const len = (
      new Database(honest.path, { readonly: true })
        .prepare('SELECT token FROM checkpoint_timestamps LIMIT 1')
        .get() as {
        token: Buffer;
      }
    ).token.length;
    let flagged = 0;
    let tried = 0;
    for (let at = 0; at < len; at += 97) {
      const path = editedCopy((db) => {
        const row = db
          .prepare('SELECT rowid AS rowid_, token FROM checkpoint_timestamps ORDER BY rowid LIMIT 1')
          .get() as {
          rowid_: number;
          token: Buffer;
        };
        row.token[at]! ^= 0xff;
        db.prepare('UPDATE checkpoint_timestamps SET token = ? WHERE rowid = ?').run(row.token, row.rowid_);
      });
      const rep = verifyLedger(path, opts(honest));
      // A flip the signature covers is found; one it does not (inside an embedded certificate) may pass.
      if (!rep.ok) expect(rep.findings.map((f) => f.kind)).toContain('bad-timestamp');
      flagged += rep.ok ? 0 : 1;
      tried++;
    }
    expect(flagged).toBeGreaterThan(tried / 2);
  });

  it('hostile rows (TEXT token, short hash): bad-timestamp, no crash', () => {
    // The garbage token names a real note, so it is parsed (and fails to).
    const real = createHash('sha256').update(checkpointRows(honest.path)[0]!.note).digest();
    const path = editedCopy((db) => {
      db.prepare(
        "INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (100, zeroblob(3), 'garbage', 0, 0)",
      ).run();
      db.prepare(
        "INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (100, ?, x'3003020100', 0, 0)",
      ).run(real);
    });
    const r = verifyLedger(path, opts(honest));
    expect(r.ok).toBe(false);
    const bad = r.findings.filter((f) => f.kind === 'bad-timestamp').map((f) => f.message);
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/not a BLOB/);
    expect(bad[1]).toMatch(/does not parse/);
  });

  // Red-team review (session 6): parsing a token costs ~20 ms, so rows naming notes
  // verify never saw are counted as orphans without being parsed.
  it('a flood of token rows for notes verify never saw: orphans, counted unparsed', () => {
    const path = editedCopy((db) => {
      const ins = db.prepare(
        'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) VALUES (?, randomblob(32), randomblob(40), 0, 0)',
      );
      for (let i = 0; i < 300; i++) ins.run(i);
    });
    const r = verifyLedger(path, opts(honest));
    expect(r.tsa!.unmatched).toBe(300);
    expect(r.findings.filter((f) => f.kind === 'bad-timestamp')).toEqual([]);
    expect(r.findings.filter((f) => f.kind === 'orphan-timestamp')).toHaveLength(1);
  });

  it('a ledger made before the token table: fine under best-effort, fails under required', () => {
    const path = editedCopy((db) => db.exec('DROP TABLE checkpoint_timestamps'));
    const r = verifyLedger(path, opts(honest));
    expect(r.ok).toBe(true);
    expect(r.findings.map((f) => f.kind)).toEqual(['untimestamped']);
    expect(verifyLedger(path, opts(honest, { tsa: 'required' })).ok).toBe(false);
  });

  it('the stolen-key rewrite: re-signed checkpoints with replayed old tokens fail under required', async () => {
    // The thief holds the log key: it writes another history into a fresh file
    // with the same key (the TSA unreachable for it: no token), then copies the
    // honest tokens over, as if they were the rewritten notes'.
    const dir = tempDir();
    const forged = join(dir, 'forged.db');
    await write(honest, await downUrl(pki), 6, forged, join(dir, 'forged-anchor.txt'));
    const db = new Database(forged);
    db.exec(`ATTACH '${honest.path}' AS h`);
    db.exec(
      'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) SELECT size, note_sha256, token, tsa_time, created_at FROM h.checkpoint_timestamps',
    );
    db.close();
    // The log key alone cannot tell.
    expect(verifyLedger(forged, { keys: honest.keys }).ok).toBe(true);
    const r = verifyLedger(forged, opts(honest, { tsa: 'required' }));
    expect(r.ok).toBe(false);
    expect(r.sealed).toBe(0);
    const kinds = r.findings.map((f) => f.kind);
    expect(kinds).toContain('no-checkpoint');
    expect(kinds).toContain('orphan-timestamp'); // the old tokens match none of the rewritten notes
    expect(r.tsa!.unmatched).toBe(checkpointRows(honest.path).length);
  });

  it('the stolen key re-signs with a backdated time and gets a fresh token: time-mismatch, not sealed under required', async () => {
    const path = join(tempDir(), 'backdated.db');
    copyFileSync(down.path, path);
    const claimed = Math.floor(Date.now() / 1000) - 3 * 3600; // "sealed three hours ago"
    const store = new SqliteStore(path);
    try {
      const last = checkpointRows(path).at(-1)!;
      const cp = openCheckpoint(last.note, down.keys).checkpoint;
      const key = loadSignerKeyFile(down.keyFile);
      const forged = signCheckpoint({ origin: cp.origin, size: cp.size, root: cp.root }, key, claimed);
      const got = await requestTimestamp(tsa.url, new TextEncoder().encode(forged), { timeoutMs: 10_000 });
      await store.addCheckpoint(store.head(), forged, Date.now());
      store.addTimestamp(cp.size, createHash('sha256').update(forged).digest(), got.token, Date.now());
    } finally {
      store.close();
    }
    const r = verifyLedger(path, opts(down, { tsa: 'required' }));
    expect(r.ok).toBe(false);
    expect(r.tsa).toMatchObject({ verified: 1, timestamped: 0 });
    const f = r.findings.find((x) => x.kind === 'time-mismatch');
    expect(f?.message).toMatch(/after the log says it signed it/);
    const cp = r.checkpoints.find((c) => c.time === claimed)!;
    expect(cp.timestamped).toBe(false);
    expect(cp.tsaTime! - cp.time! * 1000).toBeGreaterThan(3 * 3600 * 1000 - 60_000);
    // Best-effort: the same token is shown and the mismatch reported, not a failure.
    expect(verifyLedger(path, opts(down)).ok).toBe(true);
  });

  // Red-team review (session 6): tokens are pooled per checkpoint body, so a backdated
  // note beside a freshly stamped copy of the same body was shown as timestamped.
  it('a backdated note beside a freshly stamped copy of its body is not vouched for', async () => {
    const path = join(tempDir(), 'backdated-pair.db');
    copyFileSync(down.path, path);
    const now = Math.floor(Date.now() / 1000);
    const claimed = now - 30 * 86400; // "sealed thirty days ago"
    const store = new SqliteStore(path);
    try {
      const last = checkpointRows(path).at(-1)!;
      const cp = openCheckpoint(last.note, down.keys).checkpoint;
      const key = loadSignerKeyFile(down.keyFile);
      const body = { origin: cp.origin, size: cp.size, root: cp.root };
      const backdated = signCheckpoint(body, key, claimed);
      const fresh = signCheckpoint(body, key, now);
      const got = await requestTimestamp(tsa.url, new TextEncoder().encode(fresh), { timeoutMs: 10_000 });
      await store.addCheckpoint(store.head(), backdated, Date.now());
      await store.addCheckpoint(store.head(), fresh, Date.now());
      store.addTimestamp(cp.size, createHash('sha256').update(fresh).digest(), got.token, Date.now());
    } finally {
      store.close();
    }
    const r = verifyLedger(path, opts(down, { tsa: 'required' }));
    const old = r.checkpoints.find((c) => c.time === claimed)!;
    expect(old.timestamped).toBe(false);
    expect(r.checkpoints.find((c) => c.time === now)?.timestamped).toBe(true);
    const f = r.findings.find((x) => x.kind === 'time-mismatch');
    expect(f?.message).toMatch(/no token vouches for the earlier time/);
  });

  it('options: required or a policy without anchors, anchors with no PEM or no key: E_CONFIG', () => {
    const bad: Partial<VerifyOptions>[] = [
      { tsaAnchors: undefined, tsa: 'required' },
      { tsaAnchors: undefined, tsaPolicy: '1.2.3' },
      { tsaAnchors: 'not a certificate' },
      { tsaPolicy: 'policy' },
      { tsa: 'always' as 'required' },
    ];
    for (const extra of bad) {
      expect(() => verifyLedger(honest.path, opts(honest, extra))).toThrow(
        expect.objectContaining({ code: 'E_CONFIG' }),
      );
    }
    expect(() => verifyLedger(honest.path, { keys: [], chainOnly: true, tsaAnchors: pki.caPem })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
  });
});
