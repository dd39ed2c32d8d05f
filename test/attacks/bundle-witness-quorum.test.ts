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

describe('bundle witness quorum under attack', () => {
  it("cosigned notes of another size (both witnesses' notes over 25) do not count for the checkpoint at 30", () => {
    const b = clone(onlyW1);
    b.cosignedNotes = [...onlyW1.cosignedNotes!, ...both.cosignedNotes!];
    const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2], quorum: 2 });
    expect(r.status).toBe('failed');
    expect(r.witness?.met).toBe(false);
    expect(r.problems.join('\n')).toMatch(/is not a note of the bundle checkpoint/);
    // Same notes offered as anchors (no consistency proof possible without the tree): refused too.
    const c = clone(onlyW1);
    c.anchors = [
      ...c.anchors,
      ...both.cosignedNotes!.map((n) => ({ note: n, proof: [] })),
    ] as Bundle['anchors'];
    const r2 = verifyBundle(c, { keys: [ledger.logKey], witnesses: [W1, W2], quorum: 2 });
    expect(r2.status).toBe('failed');
    expect(r2.witness?.met).toBe(false);
  });

  it("w2's genuine line over 25 renamed / re-timed / grafted onto 30 does not verify", () => {
    const src = lineOf(both.cosignedNotes![1]!, 'witness2.example/w2');
    const b = clone(onlyW1);
    b.cosignedNotes = [...onlyW1.cosignedNotes!, `${onlyW1.checkpoint}${src}\n`];
    const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2], quorum: 2 });
    expect(r.status).toBe('failed');
    expect(r.witness?.met).toBe(false);
    expect(r.problems.join('\n')).toMatch(/witness2\.example\/w2 does not verify/);
  });

  it('a cosigned note of the same size whose body differs in whitespace or extension lines is refused', () => {
    const note = both.cosignedNotes![1]!;
    const p = parseNote(note);
    const sigs = note.slice(p.text.length + 1);
    for (const text of [
      `${p.text.replace(/\n$/, '')}\nextension line\n`,
      p.text.replace('\n', ' \n'),
      p.text.replace(/\n/g, '\r\n'),
      `${p.text}\n`,
    ]) {
      const b = clone(onlyW1);
      b.cosignedNotes = [...onlyW1.cosignedNotes!, `${text}\n${sigs}`];
      const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2], quorum: 2 });
      expect(r.status).toBe('failed');
      expect(r.witness?.met).toBe(false);
    }
  });

  it('more cosigned notes than the cap, and non-strings, make the bundle unreadable', () => {
    const b = clone(both);
    b.cosignedNotes = Array.from({ length: 17 }, () => both.cosignedNotes![0]!);
    expect(verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2] }).status).toBe('unreadable');
    const c = clone(both) as unknown as { cosignedNotes: unknown };
    c.cosignedNotes = [both.cosignedNotes![0], { note: both.cosignedNotes![1] }];
    expect(verifyBundle(c, { keys: [ledger.logKey], witnesses: [W1, W2] }).status).toBe('unreadable');
  });

  it('16 cosigned notes padded with ~98 distinct bogus w1/w2 lines each: bounded time, no quorum', () => {
    const b = clone(onlyW1);
    const pad = (seed: number) => {
      const lines: string[] = [];
      for (let i = 0; i < 49; i++) {
        for (const k of [W1, W2]) {
          const key = parseVerifierKey(k);
          const sig = new Uint8Array(4 + 72);
          sig.set(key.keyId, 0);
          sig[4] = seed;
          sig[5] = i;
          sig[6] = k === W1 ? 1 : 2;
          lines.push(`\u2014 ${key.name} ${b64(sig)}\n`);
        }
      }
      return lines.join('');
    };
    b.cosignedNotes = Array.from({ length: 16 }, (_, s) => `${onlyW1.cosignedNotes![0]!}${pad(s)}`);
    const t0 = performance.now();
    const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2], quorum: 1 });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(5000);
    expect(r.status).toBe('failed');
    expect(r.witness?.witnesses.every((x) => !x.cosigned)).toBe(true);
  });

  it('hostile JSON: deep nesting and huge arrays do not throw', () => {
    expect(() => verifyBundle('['.repeat(200_000))).not.toThrow();
    const deep = `{"manifest":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(() => verifyBundle(deep, { keys: [ledger.logKey], witnesses: [W1, W2] })).not.toThrow();
    const b = clone(both) as unknown as Record<string, unknown>;
    b.cosignedNotes = Array.from({ length: 1_000_000 }, () => 'x');
    expect(verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1] }).status).toBe('unreadable');
  });

  it('CLI: invalid UTF-8 inside a cosigned note is a problem, not a crash', async () => {
    const json = JSON.stringify(clone(both)).replace('"cosignedNotes":["', '"cosignedNotes":["\u0001MARK');
    const bytes = Buffer.from(json, 'utf8');
    const at = bytes.indexOf(Buffer.from('\u0001MARK'));
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    const file = join(w.dir, 'bad-utf8.json');
    writeFileSync(file, bytes);
    const r = await runBin(['verify-bundle', file, '--key', ledger.logKey, '--witness', W1, '--witness', W2]);
    expect(r.code).not.toBe(0);
    expect(r.err).not.toMatch(/at .*\.js:\d+/);
  });

  // The two breaks the review found, fixed (2bee0b8).
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
