import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../encode.js';
import { encodeBase64 } from '../../note/encoding.js';
import { makeVerifierKey, parseVerifierKey } from '../../note/keys.js';
import { mergeCosignatures } from '../../witness/quorum.js';
import type { FindingKind, VerifyOptions, VerifyReport } from '../types.js';
import { verifyLedger } from '../verify.js';
import { entryOf, tamper } from './fixture.js';
import {
  addNoteRow,
  cosignLine,
  makeWitness,
  type WitnessedFixture,
  witnessedLedger,
} from './witness-fixture.js';

// verify's witness policy (issue 16): a checkpoint seals records only when a
// quorum of the given witnesses cosigned its body, pooled across every note
// with that body; a line claiming a given witness that does not verify is
// tampering (bad-cosignature).

const W1 = makeWitness('witness.example/w1');
const W2 = makeWitness('witness.example/w2');
const W3 = makeWitness('witness.example/w3');
const ALL = () => [W1, W2];

function verify(f: WitnessedFixture, extra: Partial<VerifyOptions> = {}, anchor = false): VerifyReport {
  return verifyLedger(f.path, {
    keys: [f.vkey, f.cosignerVkey],
    ...(anchor ? { trusted: [readFileSync(f.anchor, 'utf8')] } : {}),
    ...extra,
  });
}

function kinds(r: VerifyReport): FindingKind[] {
  return r.findings.map((x) => x.kind);
}

describe('verify with a witness quorum', () => {
  it('passes when every checkpoint is cosigned by the quorum, and lists who cosigned each', () => {
    const f = witnessedLedger({ records: 60, every: 20, cosign: ALL });
    const r = verify(f, { witnesses: [W1.vkey, W2.vkey], strict: true }, true);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ ok: true, sealed: 60, unsealed: 0 });
    expect(r.witness).toEqual({
      quorum: 2,
      witnesses: [
        { name: W1.name, vkey: W1.vkey, cosigned: 3 },
        { name: W2.name, vkey: W2.vkey, cosigned: 3 },
      ],
      checkpoints: 3,
      witnessed: 3,
      logSealed: 60,
      sealedBy: [W1.name, W2.name],
    });
    // Both the log's own row and the merged row of a body say witnessed: the body is.
    const rows = r.checkpoints.filter((c) => c.source === 'ledger');
    expect(rows.map((c) => [c.size, c.witnessed])).toEqual([
      [20, true],
      [20, true],
      [40, true],
      [40, true],
      [60, true],
      [60, true],
    ]);
    expect(rows[0]!.witnesses).toEqual([
      { name: W1.name, time: 1_800_000_020 },
      { name: W2.name, time: 1_800_000_020 },
    ]);
  });

  it('without a witness policy the lines are ignored and the report has no witness fields', () => {
    const f = witnessedLedger({ records: 40, every: 20, cosign: () => [W1] });
    const r = verify(f, {}, true);
    expect(r).toMatchObject({ ok: true, sealed: 40, findings: [] });
    expect(r.witness).toBeUndefined();
    expect(r.checkpoints.every((c) => c.witnessed === undefined && c.witnesses === undefined)).toBe(true);
  });

  it('fails when no checkpoint reaches the quorum, naming the policy; the log key alone would pass', () => {
    const f = witnessedLedger({ records: 40, every: 20, cosign: () => [W1] });
    expect(verify(f).ok).toBe(true);
    const r = verify(f, { witnesses: [W1.vkey, W2.vkey] }, true);
    expect(r.ok).toBe(false);
    expect(kinds(r)).toEqual(['no-checkpoint']);
    expect(r.findings[0]!.message).toMatch(/no checkpoint cosigned by 2 of the 2 given witnesses/);
    expect(r.findings[0]!.message).toMatch(/cover 40 of them but await witness cosignatures/);
    expect(r).toMatchObject({ sealed: 0, unsealed: 40 });
    expect(r.witness).toMatchObject({ checkpoints: 2, witnessed: 0, logSealed: 40, sealedBy: [] });
    expect(r.checkpoints.every((c) => c.witnessed === false)).toBe(true);
    // A quorum of 1 of the same two is met by W1.
    expect(verify(f, { witnesses: [W1.vkey, W2.vkey], quorum: 1 }).ok).toBe(true);
  });

  it('a ledger with no cosignature at all fails with a witness policy', () => {
    const f = witnessedLedger({ records: 30, every: 10 });
    const r = verify(f, { witnesses: [W1.vkey], quorum: 1 });
    expect(kinds(r)).toEqual(['no-checkpoint']);
    expect(r.checkpoints.map((c) => [c.witnessed, c.witnesses])).toEqual([
      [false, []],
      [false, []],
      [false, []],
    ]);
  });

  it('an old witnessed checkpoint and newer unwitnessed ones: the tail is unsealed, failing only beyond --max-unsealed', () => {
    const f = witnessedLedger({ records: 100, every: 25, cosign: (n) => (n === 25 ? ALL() : []) });
    const r = verify(f, { witnesses: [W1.vkey, W2.vkey] });
    expect(r).toMatchObject({ ok: true, sealed: 25, unsealed: 75 });
    expect(r.witness).toMatchObject({ checkpoints: 4, witnessed: 1, logSealed: 100 });
    expect(r.findings).toEqual([expect.objectContaining({ kind: 'unsealed', seq: 25 })]);
    expect(r.findings[0]!.message).toMatch(
      /last 75 record\(s\) \(from row 25 on\) are not covered by a witnessed checkpoint: they are covered only by checkpoints awaiting witness cosignatures \(quorum: 2 of the 2 given witnesses\)/,
    );
    const strict = verify(f, { witnesses: [W1.vkey, W2.vkey], maxUnsealed: 74 });
    expect(strict.ok).toBe(false);
    expect(strict.findings[0]!.message).toMatch(/the policy allows 74/);
    expect(verify(f, { witnesses: [W1.vkey, W2.vkey], maxUnsealed: 75 }).ok).toBe(true);
    // Without the policy the same ledger is sealed to 100.
    expect(verify(f, { strict: true })).toMatchObject({ ok: true, sealed: 100 });
  });

  it('pools cosignatures across notes with the same body: a ledger row and an anchor note', () => {
    // W1 cosigned a note stored in the ledger, W2 one that reached only the anchor file.
    const f = witnessedLedger({ records: 20, every: 20, cosign: () => [W1], where: 'ledger' });
    const note = f.notes.get(20)!;
    const anchorOnly = mergeCosignatures(note, [cosignLine(note, W2, 1_800_000_999)]);
    const policy = { witnesses: [W1.vkey, W2.vkey] };
    expect(verify(f, policy).ok).toBe(false);
    const r = verifyLedger(f.path, { keys: [f.vkey], trusted: [anchorOnly], ...policy });
    expect(r).toMatchObject({ ok: true, sealed: 20 });
    expect(r.checkpoints.map((c) => [c.source, c.witnessed, c.witnesses?.map((w) => w.name)])).toEqual([
      ['ledger', true, [W1.name, W2.name]],
      ['ledger', true, [W1.name, W2.name]],
      ['trusted', true, [W1.name, W2.name]],
    ]);
  });

  it('the same witness twice counts once: two lines, two notes, or its key given twice', () => {
    const f = witnessedLedger({ records: 20, every: 20, cosign: () => [W1] });
    const merged = f.merged.get(20)!;
    // A second W1 line with another time on the same note, and the merged note stored again.
    addNoteRow(f.path, 1, mergeCosignatures(merged, [cosignLine(merged, W1, 1_800_000_500)]));
    addNoteRow(f.path, 1, merged);
    const r = verify(f, { witnesses: [W1.vkey, W2.vkey] });
    expect(r.ok).toBe(false);
    expect(r.checkpoints[0]!.witnesses).toEqual([{ name: W1.name, time: 1_800_000_500 }]);
    expect(kinds(r)).toEqual(['no-checkpoint']);
    // W1 given twice is one witness: the default quorum is 1, and 2 is out of range.
    expect(verify(f, { witnesses: [W1.vkey, ` ${W1.vkey}`] })).toMatchObject({
      ok: true,
      witness: { quorum: 1 },
    });
    expect(() => verify(f, { witnesses: [W1.vkey, W1.vkey], quorum: 2 })).toThrow(
      /quorum must be an integer from 1 to 1/,
    );
  });

  it('a cosignature by a witness not given does not count, and its bad lines are not checked', () => {
    const f = witnessedLedger({ records: 20, every: 20, cosign: () => [W3] });
    const merged = f.merged.get(20)!;
    addNoteRow(f.path, 1, corruptLine(merged, W3.name));
    const r = verify(f, { witnesses: [W1.vkey], quorum: 1 });
    expect(kinds(r)).toEqual(['no-checkpoint']);
    expect(r.checkpoints.every((c) => c.witnesses?.length === 0)).toBe(true);
  });

  it('witnessed notes whose root does not match the records seal nothing', () => {
    const f = witnessedLedger({ records: 40, every: 20, cosign: (n) => (n === 40 ? ALL() : []) });
    tamper(f.path, (db) => db.prepare("UPDATE records SET entry = CAST('{}' AS BLOB) WHERE seq = 30").run());
    const r = verify(f, { witnesses: [W1.vkey, W2.vkey] });
    expect(r.ok).toBe(false);
    expect(r.sealed).toBe(0);
    expect(kinds(r)).toContain('checkpoint-mismatch');
    expect(r.checkpoints.find((c) => c.size === 40 && c.witnesses?.length === 2)).toMatchObject({
      valid: false,
      witnessed: true,
    });
  });
});

describe('the log key stolen: history rewritten and re-signed with it', () => {
  const rewritten = (i: number) =>
    Buffer.from(canonicalJson({ i, level: 30, msg: 'rewritten', time: 1_700_000_000_000 + i }));

  it('a rewrite of every record: the log key alone says intact, the witness policy fails it', () => {
    const honest = witnessedLedger({ records: 50, every: 25, cosign: () => [W1] });
    const forged = witnessedLedger({
      records: 50,
      every: 25,
      privateKey: honest.privateKey,
      entry: rewritten,
    });
    // The attacker's checkpoints carry the real log signature and a fresh time line.
    const blind = verify(forged, { strict: true });
    expect(blind).toMatchObject({ ok: true, sealed: 50, findings: [] });
    const r = verify(forged, { witnesses: [W1.vkey], quorum: 1 });
    expect(r).toMatchObject({ ok: false, sealed: 0 });
    expect(kinds(r)).toEqual(['no-checkpoint']);
    expect(verify(honest, { witnesses: [W1.vkey], quorum: 1, strict: true }).ok).toBe(true);
  });

  it('a rewrite after the last witnessed checkpoint is an unsealed tail: --max-unsealed bounds it', () => {
    // W1 cosigned up to 25; the thief rewrites records 30.. and re-signs 50.
    const honest = witnessedLedger({ records: 50, every: 25, cosign: (n) => (n === 25 ? [W1] : []) });
    const forged = witnessedLedger({
      records: 50,
      every: 25,
      privateKey: honest.privateKey,
      entry: (i) => (i >= 30 ? rewritten(i) : entryOf(i)),
    });
    addNoteRow(forged.path, 1, honest.merged.get(25)!); // the same body: W1's line holds
    const policy = { witnesses: [W1.vkey], quorum: 1 };
    const r = verify(forged, policy);
    expect(r).toMatchObject({ ok: true, sealed: 25, unsealed: 25 });
    expect(r.findings[0]!.message).toMatch(/covered only by checkpoints awaiting witness cosignatures/);
    expect(verify(forged, { ...policy, strict: true }).ok).toBe(false);
  });
});

/** Flips one bit in the signature of `name`'s line (the last 64 bytes are the Ed25519 signature). */
function corruptLine(note: string, name: string): string {
  return note
    .split('\n')
    .map((line) => {
      if (!line.startsWith(`\u2014 ${name} `)) return line;
      const raw = Buffer.from(line.slice(`\u2014 ${name} `.length), 'base64');
      raw[raw.length - 1]! ^= 0x01;
      return `\u2014 ${name} ${encodeBase64(raw)}`;
    })
    .join('\n');
}

describe('a witness line that claims a given witness but does not verify', () => {
  it('a flipped signature bit is bad-cosignature, naming the row and the witness', () => {
    const f = witnessedLedger({ records: 40, every: 20, cosign: ALL });
    const id = addNoteRow(f.path, 3, corruptLine(f.merged.get(40)!, W2.name));
    const r = verify(f, { witnesses: [W1.vkey, W2.vkey] });
    expect(r.ok).toBe(false);
    expect(r.findings).toEqual([
      expect.objectContaining({
        kind: 'bad-cosignature',
        checkpointId: id,
        message: expect.stringContaining(
          `checkpoint ${id}: the cosignature line by witness ${W2.name} does not verify`,
        ),
      }),
    ]);
    // The note is rejected whole (signed-note); the honest rows with its body still seal.
    expect(r.checkpoints.find((c) => c.id === id)).toMatchObject({ valid: false, witnessed: true });
    expect(r.sealed).toBe(40);
    // Without the policy the line belongs to an unknown key and is ignored, as before.
    expect(verify(f).ok).toBe(true);
  });

  it("W's genuine line from another checkpoint grafted onto a note is bad-cosignature", () => {
    const f = witnessedLedger({ records: 40, every: 20, cosign: (n) => (n === 20 ? [W1] : []) });
    const line = f.merged
      .get(20)!
      .split('\n')
      .find((l) => l.startsWith(`\u2014 ${W1.name} `))!;
    const id = addNoteRow(f.path, 3, mergeCosignatures(f.notes.get(40)!, [line]));
    const r = verify(f, { witnesses: [W1.vkey], quorum: 1 }, true);
    expect(kinds(r)).toEqual(['bad-cosignature', 'unsealed']);
    expect(r.findings[0]!.checkpointId).toBe(id);
    expect(r.sealed).toBe(20);
  });

  it('in a trusted note it is named by the note', () => {
    const f = witnessedLedger({ records: 20, every: 20, cosign: () => [W1] });
    const r = verifyLedger(f.path, {
      keys: [f.vkey],
      trusted: [corruptLine(f.merged.get(20)!, W1.name)],
      witnesses: [W1.vkey],
    });
    expect(r.findings).toEqual([
      expect.objectContaining({
        kind: 'bad-cosignature',
        message: expect.stringMatching(/^trusted checkpoint #1: /),
      }),
    ]);
    expect(r.ok).toBe(false);
  });
});

/** The same public key under another name (a new key ID, the same key). */
function relabel(vkey: string, name: string): string {
  const k = parseVerifierKey(vkey);
  return makeVerifierKey(name, k.type, k.publicKey).vkey;
}

describe('witness policy options', () => {
  const f = witnessedLedger({ records: 5, every: 5 });
  const base = { keys: [f.vkey] };
  it.each([
    [
      'a log key as witness',
      { witnesses: [f.vkey] },
      'E_KEY',
      /witness key 1 .* is a log signing key \(type 0x01\)/,
    ],
    ['a malformed key', { witnesses: [W1.vkey, 'nope'] }, 'E_KEY', /^witness key 2: /],
    [
      'quorum 0',
      { witnesses: [W1.vkey], quorum: 0 },
      'E_CONFIG',
      /quorum must be an integer from 1 to 1 .*, got 0/,
    ],
    [
      'quorum above n',
      { witnesses: [W1.vkey, W2.vkey], quorum: 3 },
      'E_CONFIG',
      /quorum must be an integer from 1 to 2 .*, got 3/,
    ],
    ['quorum 1.5', { witnesses: [W1.vkey, W2.vkey], quorum: 1.5 }, 'E_CONFIG', /quorum/],
    ['quorum without witnesses', { quorum: 1 }, 'E_CONFIG', /quorum needs witnesses/],
    ['the log time cosigner', { witnesses: [f.cosignerVkey] }, 'E_CONFIG', /the log's own time cosigner/],
    // Red-team review (session 6): a cosignature does not cover the key's name, so a key
    // is known by its public key, whatever it is called.
    [
      'the log time cosigner under another name',
      { keys: [f.vkey, f.cosignerVkey], witnesses: [relabel(f.cosignerVkey, 'witness.example/notary')] },
      'E_CONFIG',
      /the log's own time cosigner/,
    ],
    [
      'one witness key under two names',
      { witnesses: [W1.vkey, relabel(W1.vkey, 'witness.example/w1-again')], quorum: 2 },
      'E_KEY',
      /same public key under two names/,
    ],
  ] as const)('%s is refused before the file is read', (_, extra, code, message) => {
    expect(() => verifyLedger(f.path, { ...base, ...extra })).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(message) }),
    );
  });

  it('witnesses need a log key', () => {
    expect(() => verifyLedger(f.path, { keys: [], chainOnly: true, witnesses: [W1.vkey] })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/log's verifier key/) }),
    );
  });
});
