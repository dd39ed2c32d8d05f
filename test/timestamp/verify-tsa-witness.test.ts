import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimestamp, SqliteStore, verifyLedger } from '../../packages/core/src/index.js';
import { makeWitness, witnessedLedger } from '../../packages/core/src/verify/__tests__/witness-fixture.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';

// --tsa required with --witness: "sealed" is the newest valid checkpoint that
// is both witnessed (quorum) and timestamped (a valid token on a note with its
// body). The log's notes here carry fixed 2023 times, so the log's /time key
// is not given: the tokens, dated now, would not vouch for them (§1.5).

let pki: TestPki;
let tsa: TestTsa;
const dirs: string[] = [];
beforeAll(async () => {
  pki = await createTestPki();
  tsa = await startTestTsa(pki);
}, 60_000);
afterAll(async () => {
  await tsa?.close();
  await pki?.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const W1 = makeWitness('witness.example/w1');

describe('--tsa required combined with a witness quorum', () => {
  it('seals up to the newest checkpoint that is witnessed AND timestamped', async () => {
    // Witnessed at 20 and 40; timestamped at 20 and 60.
    const f = witnessedLedger({ records: 60, every: 20, cosign: (n) => (n <= 40 ? [W1] : []) });
    dirs.push(f.dir);
    const store = new SqliteStore(f.path);
    try {
      for (const size of [20, 60]) {
        const note = f.notes.get(size)!;
        const got = await requestTimestamp(tsa.url, new TextEncoder().encode(note), { timeoutMs: 10_000 });
        store.addTimestamp(size, createHash('sha256').update(note).digest(), got.token, Date.now());
      }
    } finally {
      store.close();
    }
    const base = { keys: [f.vkey], tsaAnchors: pki.caPem, maxUnsealed: 100 };
    const both = verifyLedger(f.path, { ...base, witnesses: [W1.vkey], tsa: 'required' });
    expect(both.findings.filter((x) => x.kind !== 'unsealed' && x.kind !== 'untimestamped')).toEqual([]);
    expect(both.ok).toBe(true);
    expect(both.sealed).toBe(20);
    expect(both.tsa).toMatchObject({ logSealed: 40, stampedSize: 20 });
    expect(both.findings.find((x) => x.kind === 'unsealed')?.message).toMatch(
      /20 of them await a trusted timestamp/,
    );
    // Each policy alone seals more.
    expect(verifyLedger(f.path, { ...base, witnesses: [W1.vkey] }).sealed).toBe(40);
    expect(verifyLedger(f.path, { ...base, tsa: 'required' }).sealed).toBe(60);
    // Witnessed only at 40, timestamped only at 20: nothing meets both.
    const g = witnessedLedger({ records: 40, every: 20, cosign: (n) => (n === 40 ? [W1] : []) });
    dirs.push(g.dir);
    const s2 = new SqliteStore(g.path);
    try {
      const note = g.notes.get(20)!;
      const got = await requestTimestamp(tsa.url, new TextEncoder().encode(note), { timeoutMs: 10_000 });
      s2.addTimestamp(20, createHash('sha256').update(note).digest(), got.token, Date.now());
    } finally {
      s2.close();
    }
    const none = verifyLedger(g.path, { ...base, keys: [g.vkey], witnesses: [W1.vkey], tsa: 'required' });
    expect(none.ok).toBe(false);
    expect(none.findings.find((x) => x.kind === 'no-checkpoint')?.message).toMatch(
      /cosigned by 1 of the 1 given witness that also carries a valid RFC 3161 timestamp token .*--tsa required.*40 of them but await a trusted timestamp/,
    );
  }, 60_000);
});
