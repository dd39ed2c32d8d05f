import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bundle,
  computeKeyId,
  loadSignerKeyFile,
  makeVerifierKey,
  parseNote,
  parseVerifierKey,
  verifyBundle,
} from '../../packages/core/src/index.js';
import { runBin } from '../faults/harness.js';
import type { SealedLedger } from '../witness/ledger.js';
import { ORIGIN, type WitnessedBundles, witnessedBundles } from '../witness/witnessed-bundles.js';

// Red-team (issue 16): an attacker who edits the bundle JSON but holds neither
// the log key nor a witness key tries to meet `--quorum 2` on a checkpoint only
// w1 cosigned (onlyW1, size 30), or to slow/crash the verifier.

let w: WitnessedBundles;
let ledger: SealedLedger;
let W1 = '';
let W2 = '';
let both: Bundle;
let onlyW1: Bundle;

const clone = (b: Bundle): Bundle => JSON.parse(JSON.stringify(b));
const lineOf = (note: string, name: string): string => {
  const line = note.split('\n').find((l) => l.startsWith(`\u2014 ${name} `));
  if (!line) throw new Error(`no line by ${name}`);
  return line;
};
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');

beforeAll(async () => {
  w = await witnessedBundles();
  ({ ledger, W1, W2, both, onlyW1 } = w);
}, 120_000);

afterAll(async () => {
  await w?.close();
});

describe('bundle witness quorum: breaks found by the red team, fixed', () => {
  it('CLI: a deeply nested manifest value does not crash --json output', async () => {
    const json = JSON.stringify(both).replace(
      '"manifest":{',
      `"manifest":{"x":${'['.repeat(20_000)}${']'.repeat(20_000)},`,
    );
    const file = join(w.dir, 'deep-manifest.json');
    writeFileSync(file, json);
    const plain = await runBin([
      'verify-bundle',
      file,
      '--key',
      ledger.logKey,
      '--witness',
      W1,
      '--witness',
      W2,
    ]);
    const r = await runBin([
      'verify-bundle',
      file,
      '--key',
      ledger.logKey,
      '--witness',
      W1,
      '--witness',
      W2,
      '--json',
    ]);
    // A hostile manifest makes the bundle unreadable (exit 2), said plainly, in both output modes.
    for (const run of [plain, r]) {
      expect(run.code).toBe(2);
      expect(`${run.out}${run.err}`).toMatch(/manifest is nested deeper than 16 levels/);
      expect(run.err).not.toMatch(/RangeError|Maximum call stack|at .*\.js:/);
    }
  });

  it("the log's own time key relabelled as a witness is refused when the log's time key is given", () => {
    // The time key, handed to the auditor as "notary.example/w" (cosignature/v1 does not sign names).
    const timeVkey = loadSignerKeyFile(ledger.keyFile).timeCosigner().verifierKey;
    const time = parseVerifierKey(timeVkey);
    const relabelled = makeVerifierKey('notary.example/w', time.type as 4, time.publicKey);
    const timeLine = lineOf(onlyW1.checkpoint, `${ORIGIN}/time`);
    const raw = Buffer.from(timeLine.split(' ')[2]!, 'base64');
    raw.set(computeKeyId('notary.example/w', time.type, time.publicKey), 0);
    const forged = `\u2014 notary.example/w ${raw.toString('base64')}\n`;
    const b = clone(onlyW1);
    b.cosignedNotes = [...onlyW1.cosignedNotes!, `${onlyW1.checkpoint}${forged}`];
    // With the log's two keys (keygen prints both), the relabelled key is refused by its public key.
    const r = verifyBundle(b, {
      keys: [ledger.logKey, timeVkey],
      witnesses: [W1, relabelled.vkey],
      quorum: 2,
    });
    expect(r.status).toBe('failed');
    expect(r.witness?.met).not.toBe(true);
    expect(r.problems.join('\n')).toMatch(/own time cosigner key/);
    // Without the time key no verifier can tell (a key is only a public key): witness keys must come
    // from the witnesses, never from the log's operator (docs/witness.md says so).
  });
});
