import { describe, expect, it } from 'vitest';
import { encodeBase64 } from '../note/encoding.js';
import { Ed25519Signer, parseVerifierKey } from '../note/keys.js';
import { fileCheckpointKey } from '../signer/file.js';
import { holdsInForce, judgeStatements, MAX_STATEMENTS_PER_DIRECTORY } from './retention.js';
import { type HoldStatement, holdNoteHash, parseStatement, signStatement } from './statements.js';
import { holdSummaries } from './verify-types.js';

const origin = 'example.com/audit';
const key = fileCheckpointKey(
  new Ed25519Signer(
    origin,
    new Uint8Array(32).map((_, i) => i * 5 + 3),
  ),
);
const vkey = parseVerifierKey(key.log.verifierKey);
const hold: HoldStatement = {
  type: 'hold',
  origin,
  id: 'LIT-1',
  time: 1000,
  reason: 'case 4',
  scope: { segment: 1 },
};

async function release(holdNote: string, time: number, reason = 'closed') {
  return signStatement(
    { type: 'release', origin, id: 'LIT-1', time, reason, hold: holdNoteHash(holdNote) },
    key.log,
  );
}

describe('hold releases', () => {
  it('end only the hold whose note they name, once sealed, and not dated before it', async () => {
    const h = await signStatement(hold, key.log);
    const other = await signStatement({ ...hold, time: 999 }, key.log); // same id, another ledger or an earlier hold
    const judge = (notes: { note: string; type: 'hold' | 'release'; seq: number }[], sealed: number) =>
      judgeStatements([{ segment: 2, statements: notes }], origin, [vkey], () => sealed);
    const at = (note: string, type: 'hold' | 'release', seq: number) => ({ note, type, seq });

    const good = judge([at(h, 'hold', 1), at(await release(h, 2000), 'release', 2)], 3);
    expect(good.problems).toEqual([]);
    expect(holdsInForce(good)).toEqual([]);
    expect(holdSummaries(good, holdsInForce(good))[0]).toMatchObject({
      active: false,
      released: { time: 2000 },
    });

    // A release naming another hold's note (same id, key and origin) ends nothing.
    const foreign = judge([at(h, 'hold', 1), at(await release(other, 2000), 'release', 2)], 3);
    expect(holdsInForce(foreign).map((x) => x.note)).toEqual([h]);
    expect(holdSummaries(foreign, holdsInForce(foreign))[0]!.released).toBeUndefined();
    // Not sealed yet: ends nothing.
    const unsealed = judge([at(h, 'hold', 1), at(await release(h, 2000), 'release', 2)], 2);
    expect(holdsInForce(unsealed)).toHaveLength(1);
    // Dated before the hold: ends nothing.
    const early = judge([at(h, 'hold', 1), at(await release(h, 999), 'release', 2)], 3);
    expect(holdsInForce(early)).toHaveLength(1);
    // Recorded before the hold: ends nothing.
    const first = judge([at(await release(h, 2000), 'release', 1), at(h, 'hold', 2)], 3);
    expect(holdsInForce(first)).toHaveLength(1);
  });

  it('a v1 release (by id only) and a release without its hold line are malformed', async () => {
    const h = await signStatement(hold, key.log);
    const note = await release(h, 2000);
    const text = note.slice(0, note.indexOf('\n\n') + 1);
    const sig = note.slice(note.indexOf('\n\n') + 1);
    const v1 = `${text.replace('sealog hold release/v2', 'sealog hold release/v1').replace(/hold .*\n$/, '')}${sig}`;
    expect(() => parseStatement(v1)).toThrow(/release\/v1/);
    const noHold = `${text.replace(/hold .*\n$/, '')}${sig}`;
    expect(() => parseStatement(noHold)).toThrow(/must start with "hold "/);
    const parsed = parseStatement(note);
    expect(parsed.type === 'release' && Buffer.from(parsed.hold).equals(Buffer.from(holdNoteHash(h)))).toBe(
      true,
    );
    expect(encodeBase64(holdNoteHash(h))).toHaveLength(44);
  });
});

// Red-team finding 2: a directory padded with copies of one signed hold and one
// release made verify quadratic (every hold against every release, per copy).
describe('a directory padded with copies of signed statements', () => {
  it('costs one signature check per distinct note, whatever the number of copies', async () => {
    const h = await signStatement(hold, key.log);
    const r = await release(h, 2000);
    const padded = (copies: number) =>
      Array.from({ length: 18 }, (_, s) => ({
        segment: s + 1,
        statements: Array.from({ length: copies }, (_, i) => ({
          seq: 2 * i + 1,
          type: (i % 2 === 0 ? 'hold' : 'release') as 'hold' | 'release',
          note: i % 2 === 0 ? h : r,
        })),
      }));
    for (const copies of [10, 1000]) {
      const j = judgeStatements(padded(copies), origin, [vkey], () => Number.MAX_SAFE_INTEGER);
      expect(j.signatureChecks).toBe(2);
      expect(j.holds).toHaveLength(1);
      expect(j.releases).toHaveLength(1);
      expect(j.problems).toEqual([]);
      expect(holdsInForce(j)).toEqual([]);
    }
  });

  it('stops judging past the directory-wide cap, as a problem', () => {
    const distinct = Array.from({ length: 3 }, (_, s) => ({
      segment: s + 1,
      statements: Array.from({ length: Math.ceil(MAX_STATEMENTS_PER_DIRECTORY / 2) }, (_, i) => ({
        seq: i + 1,
        type: 'hold' as const,
        note: `junk ${s} ${i}\n`,
      })),
    }));
    const j = judgeStatements(distinct, origin, [vkey], () => 0);
    expect(j.problems.at(-1)!.message).toMatch(/more than 20000 distinct retention statements/);
    expect(j.problems).toHaveLength(MAX_STATEMENTS_PER_DIRECTORY + 1);
    expect(j.signatureChecks).toBe(0);
  });
});
