import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bundle,
  cosignerAt,
  generateKey,
  generateWitnessKey,
  parseNote,
  parseWitnessKey,
  signNote,
  verifyBundle,
} from '../../packages/core/src/index.js';
import { runBin } from '../faults/harness.js';
import type { SealedLedger } from './ledger.js';
import { ORIGIN, type WitnessedBundles, witnessedBundles } from './witnessed-bundles.js';

// Issue 16, evidence bundles: `verify-bundle --witness W --quorum n` (and
// verifyBundle, which the browser page runs) against bundles exported by
// `sealog export` from a ledger whose checkpoints two real `sealog witness
// serve` processes cosigned, stored as the writer stores them: one merged note
// per witness, as one more checkpoint row beside the note the log signed first.

let w: WitnessedBundles;
let ledger: SealedLedger;
let W1 = '';
let W2 = '';
let both: Bundle;
let onlyW1: Bundle;
let bothFile = '';
let onlyW1File = '';

const clone = (b: Bundle): Bundle => JSON.parse(JSON.stringify(b));

/** The witness line of `name` in a note. */
function lineOf(note: string, name: string): string {
  const line = note.split('\n').find((l) => l.startsWith(`\u2014 ${name} `));
  if (!line) throw new Error(`no line by ${name}`);
  return line;
}

beforeAll(async () => {
  w = await witnessedBundles();
  ({ ledger, W1, W2, both, onlyW1, bothFile, onlyW1File } = w);
}, 120_000);

afterAll(async () => {
  await w?.close();
});

describe('verify-bundle with a witness quorum', () => {
  it('export carries the note the log signed as checkpoint and each witness merged note beside it', () => {
    // The checkpoint stays the first stored note (RFC 3161 tokens stamp its bytes).
    const logLines = [ORIGIN, `${ORIGIN}/time`];
    expect(parseNote(both.checkpoint).signatures.map((s) => s.name)).toEqual(logLines);
    expect(both.cosignedNotes).toHaveLength(2);
    expect(both.cosignedNotes!.map((n) => parseNote(n).signatures.map((s) => s.name))).toEqual([
      [...logLines, 'witness.example/w1'],
      [...logLines, 'witness2.example/w2'],
    ]);
  });

  it('a bundle both real witnesses cosigned passes with both, with --quorum 1, and shows who cosigned when', async () => {
    const r = await runBin([
      'verify-bundle',
      bothFile,
      '--key',
      ledger.logKey,
      '--witness',
      W1,
      '--witness',
      W2,
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VERIFIED\n/);
    expect(r.out).toContain('witnesses:  2 of 2 cosigned the checkpoint (quorum 2: met)');
    expect(r.out).toMatch(/witness: {4}witness\.example\/w1: cosigned at \d{4}-\d\d-\d\dT/);
    expect(r.out).toMatch(/witness: {4}witness2\.example\/w2: cosigned at \d{4}-\d\d-\d\dT/);
    const q1 = await runBin([
      'verify-bundle',
      onlyW1File,
      '--key',
      ledger.logKey,
      '--witness',
      W1,
      '--witness',
      W2,
      '--quorum',
      '1',
      '--json',
    ]);
    expect(q1.code).toBe(0);
    const report = JSON.parse(q1.out);
    expect(report.witness).toMatchObject({
      quorum: 1,
      met: true,
      witnesses: [
        { name: 'witness.example/w1', vkey: W1, cosigned: true },
        { name: 'witness2.example/w2', vkey: W2, cosigned: false },
      ],
    });
    expect(report.witness.witnesses[0].time).toBeGreaterThan(1_700_000_000);
  });

  it('quorum 2 fails a bundle only one witness cosigned', async () => {
    const r = await runBin([
      'verify-bundle',
      onlyW1File,
      '--key',
      ledger.logKey,
      '--witness',
      W1,
      '--witness',
      W2,
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAILED\n/);
    expect(r.out).toContain('witnesses:  1 of 2 cosigned the checkpoint (quorum 2: NOT met)');
    expect(r.out).toContain('witness:    witness2.example/w2: no valid cosignature');
    expect(r.out).toContain(
      'problem:    witnesses: the bundle checkpoint is cosigned by 1 of the 2 given witness(es), fewer than the quorum of 2',
    );
  });

  it('a bundle without the cosigned notes fails: the log key alone does not meet the quorum', () => {
    const stripped = clone(both);
    delete stripped.cosignedNotes;
    // Without witnesses it verifies: this is what a log-key thief's bundle looks like.
    expect(verifyBundle(stripped, { keys: [ledger.logKey] }).status).toBe('ok');
    const r = verifyBundle(stripped, { keys: [ledger.logKey], witnesses: [W1], quorum: 1 });
    expect(r.status).toBe('failed');
    expect(r.witness).toMatchObject({ met: false, witnesses: [{ cosigned: false }] });
    expect(r.problems.join('\n')).toMatch(
      /cosigned by 0 of the 1 given witness\(es\), fewer than the quorum of 1/,
    );
  });

  it('a witness line altered by one bit fails as a forged cosignature, and does not count', () => {
    const b = clone(both);
    const note = b.cosignedNotes![0]!;
    const line = lineOf(note, 'witness.example/w1');
    const [, name, sig] = line.split(' ');
    const bytes = Buffer.from(sig!, 'base64');
    bytes[bytes.length - 1]! ^= 0x01;
    b.cosignedNotes![0] = note.replace(line, `\u2014 ${name} ${bytes.toString('base64')}`);
    const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2] });
    expect(r.status).toBe('failed');
    expect(r.problems).toContain(
      'cosigned note 1: the cosignature line by witness witness.example/w1 does not verify over this checkpoint (a forged or altered witness cosignature)',
    );
    expect(r.witness?.witnesses.map((w) => w.cosigned)).toEqual([false, true]);
  });

  it("a genuine line copied from another checkpoint (w1's line over size 30 grafted on 25) is forged", () => {
    const b = clone(both);
    const grafted = lineOf(onlyW1.cosignedNotes![0]!, 'witness.example/w1');
    b.cosignedNotes = [`${b.checkpoint}${grafted}\n`, b.cosignedNotes![1]!];
    const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2], quorum: 1 });
    expect(r.status).toBe('failed');
    expect(r.problems.join('\n')).toMatch(
      /cosigned note 1: the cosignature line by witness witness\.example\/w1 does not verify/,
    );
  });

  it('a cosignature line by another key under the same witness name does not count', () => {
    // An impostor witness key named like w1 cosigns the checkpoint for real: its
    // line verifies under its own key, which the verifier did not give.
    const impostor = parseWitnessKey(generateWitnessKey('witness.example/w1').privateKey);
    const body = parseNote(both.checkpoint).text;
    const line = signNote(body, [cosignerAt(impostor, 1_900_000_000)]).slice(body.length + 1);
    const b = clone(both);
    b.cosignedNotes = [`${b.checkpoint}${line}`, b.cosignedNotes![1]!];
    const r = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2] });
    expect(r.status).toBe('failed');
    expect(r.witness?.witnesses.map((w) => [w.name, w.cosigned])).toEqual([
      ['witness.example/w1', false],
      ['witness2.example/w2', true],
    ]);
    expect(r.problems).toEqual([
      'witnesses: the bundle checkpoint is cosigned by 1 of the 2 given witness(es), fewer than the quorum of 2; without it the checkpoint rests on the log key alone, which proves nothing against whoever holds that key',
    ]);
    // The impostor, were it given, would count: the line itself is genuine.
    expect(verifyBundle(b, { keys: [ledger.logKey], witnesses: [impostor.verifierKey] }).status).toBe('ok');
  });

  it("the log's own time key relabelled as a witness is refused, and a line repeated counts once", () => {
    const time = generateKey(ORIGIN).cosignerVerifierKey;
    const asWitness = time.replace(`${ORIGIN}/time+`, 'notary.example/w+');
    // Same public key as the log's time key (given with --key): refused by parseWitnessPolicy.
    const r = verifyBundle(both, { keys: [ledger.logKey, time], witnesses: [W1, time] });
    expect(r.status).toBe('failed');
    expect(r.problems.join('\n')).toMatch(
      /witness policy: witness key 2 \(.*\) is the log's own time cosigner key/,
    );
    expect(asWitness).not.toBe(time);

    // The checkpoint padded with 98 copies of w1's genuine line: one cosignature, checked once.
    const b = clone(both);
    const line = lineOf(b.cosignedNotes![0]!, 'witness.example/w1');
    b.cosignedNotes = [`${b.checkpoint}${`${line}\n`.repeat(98)}`];
    const t0 = performance.now();
    const padded = verifyBundle(b, { keys: [ledger.logKey], witnesses: [W1, W2] });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(padded.status).toBe('failed');
    expect(padded.witness?.witnesses.filter((w) => w.cosigned)).toHaveLength(1);
    expect(padded.problems.join('\n')).toMatch(
      /cosigned by 1 of the 2 given witness\(es\), fewer than the quorum of 2/,
    );
  });

  it('verify-bundle refuses witness options with the messages of sealog verify (exit 2)', async () => {
    const cases: string[][] = [
      ['--witness', W1, '--quorum', '2'],
      ['--witness', ledger.logKey],
      ['--quorum', '1'],
      ['--witness', W1, '--quorum', 'x'],
    ];
    for (const extra of cases) {
      const b = await runBin(['verify-bundle', bothFile, '--key', ledger.logKey, ...extra]);
      const v = await runBin(['verify', ledger.path, '--key', ledger.logKey, ...extra]);
      expect(b.code).toBe(2);
      expect(v.code).toBe(2);
      const first = (e: string) => e.split('\n')[0]!.replace(/^sealog [\w-]+: /, '');
      expect(first(b.err)).toBe(first(v.err));
    }
    const noKey = await runBin(['verify-bundle', bothFile, '--witness', W1]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/--witness counts cosignatures only on checkpoints signed by the log's key/);
    // The log's time key given as a witness: a configuration error, as in verify.
    const k = generateKey('other.example/log');
    const tk = await runBin([
      'verify-bundle',
      bothFile,
      '--key',
      k.verifierKey,
      '--key',
      k.cosignerVerifierKey,
      '--witness',
      k.cosignerVerifierKey,
    ]);
    expect(tk.code).toBe(2);
    expect(tk.err).toMatch(/is the log's own time cosigner key/);
  });
});
