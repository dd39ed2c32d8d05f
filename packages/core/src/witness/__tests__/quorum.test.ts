import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../../test/helpers/tmp.js';
import { cosign, parseNote } from '../../note/note.js';
import { generateWitnessKey, parseWitnessKey } from '../key.js';
import { mergeCosignatures, verifyWitnessCosignatures } from '../quorum.js';
import { makeHistory, NOW_MS } from './fixture.js';

function witnessPair(name: string) {
  const k = generateWitnessKey(name);
  return { cosigner: parseWitnessKey(k.privateKey), vkey: k.verifierKey };
}

describe('verifyWitnessCosignatures / mergeCosignatures', () => {
  it('counts distinct trusted witnesses that validly cosigned, ignoring the log and unknown witnesses', async () => {
    const log = await makeHistory(tempDir(), 6);
    const note = log.note(6);
    const body = parseNote(note).text;
    const [a, b, c, stranger] = ['w.example/a', 'w.example/b', 'w.example/c', 'w.example/x'].map(witnessPair);
    const t = NOW_MS / 1000;
    const merged = mergeCosignatures(note, [
      cosign(body, a!.cosigner, t),
      cosign(body, b!.cosigner, t + 5),
      cosign(body, a!.cosigner, t), // duplicate line: merged once
      cosign(body, stranger!.cosigner, t),
    ]);
    expect(parseNote(merged).signatures).toHaveLength(2 + 3);
    const keys = [a!.vkey, b!.vkey, c!.vkey];
    const two = verifyWitnessCosignatures(merged, keys, 2);
    expect(two.quorumMet).toBe(true);
    expect(two.cosigned.map((x) => [x.name, x.time])).toEqual([
      ['w.example/a', t],
      ['w.example/b', t + 5],
    ]);
    expect(verifyWitnessCosignatures(merged, keys, 3).quorumMet).toBe(false);
    // The same witness listed twice counts once.
    expect(verifyWitnessCosignatures(merged, [a!.vkey, a!.vkey, c!.vkey], 2).quorumMet).toBe(false);
    // Without cosignatures: nothing, and no exception.
    expect(verifyWitnessCosignatures(note, keys, 1)).toMatchObject({
      cosigned: [],
      invalid: [],
      quorumMet: false,
    });
  });

  it('a cosignature over another checkpoint, or a forged line, is invalid and fails the quorum', async () => {
    const log = await makeHistory(tempDir(), 9);
    const a = witnessPair('w.example/a');
    const b = witnessPair('w.example/b');
    const other = parseNote(log.note(8)).text;
    const body = parseNote(log.note(9)).text;
    const note = mergeCosignatures(log.note(9), [
      cosign(body, a.cosigner, 100),
      cosign(other, b.cosigner, 100),
    ]);
    const r = verifyWitnessCosignatures(note, [a.vkey, b.vkey], 1);
    expect(r.cosigned.map((x) => x.name)).toEqual(['w.example/a']);
    expect(r.invalid).toEqual([b.vkey]);
    expect(r.quorumMet).toBe(false);
  });

  it('refuses log keys as witness keys, and a quorum outside 1..n', async () => {
    const log = await makeHistory(tempDir(), 2);
    const a = witnessPair('w.example/a');
    expect(() => verifyWitnessCosignatures(log.note(2), [log.logKey], 1)).toThrow(/type 0x04/);
    expect(() => verifyWitnessCosignatures(log.note(2), [a.vkey], 0)).toThrow(/quorum/);
    expect(() => verifyWitnessCosignatures(log.note(2), [a.vkey], 2)).toThrow(/quorum/);
    expect(() => mergeCosignatures(log.note(2), ['not a line'])).toThrow(/E?signature/);
    expect(() => mergeCosignatures(log.note(2), ['— a b\n\n— c d'])).toThrow();
  });
});
