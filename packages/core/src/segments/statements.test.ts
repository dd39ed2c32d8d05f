import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { Ed25519Signer, parseVerifierKey } from '../note/keys.js';
import { fileCheckpointKey } from '../signer/file.js';
import {
  type HoldStatement,
  type PruneStatement,
  parseStatement,
  signStatement,
  statementEntry,
  statementNoteOf,
  statementSignedBy,
  statementText,
} from './statements.js';

const origin = 'example.com/audit';
const key = fileCheckpointKey(
  new Ed25519Signer(
    origin,
    new Uint8Array(32).map((_, i) => i * 7 + 1),
  ),
);
const vkey = parseVerifierKey(key.log.verifierKey);
const root = new Uint8Array(32).fill(9);

const prune: PruneStatement = {
  type: 'prune',
  origin,
  time: 1_800_000_000_000,
  retention: 31_536_000_000,
  reason: 'RET-7: retention policy',
  segments: [
    { index: 1, base: 0, size: 10, root, oldest: 1, newest: 5, prunedAt: 1_700_000_000_000 },
    { index: 3, base: 20, size: 10, root, oldest: 6, newest: 9 },
    { index: 4, base: 30, size: 4, root, oldest: 9, newest: 9 },
  ],
};
const hold: HoldStatement = {
  type: 'hold',
  origin,
  id: 'LIT-1',
  time: 5,
  reason: 'case 4',
  scope: { from: 1, to: 2 },
};

describe('retention statements', () => {
  it('round-trip through text, note and entry', async () => {
    for (const s of [
      prune,
      hold,
      { type: 'release' as const, origin, id: 'LIT-1', time: 9, reason: 'closed', hold: root },
    ]) {
      const note = await signStatement(s, key.log);
      expect(parseStatement(note)).toEqual(s);
      expect(statementSignedBy(note, origin, [vkey])).toBe(true);
      const entry = statementEntry(note, s, 7).entry.toString('utf8');
      expect(statementNoteOf(entry)).toEqual({ type: s.type, note });
    }
    expect(statementText(prune)).toContain(
      `carried 1 0 10 ${Buffer.from(root).toString('base64')} 1 5 1700000000000\n`,
    );
  });

  it('refuses lines out of order, bases that do not join, carried lines after removed ones, and a carried-only statement', async () => {
    const text = statementText(prune);
    const bad = [
      text.replace('segment 3 20', 'segment 2 20'), // 2 after 1 must start at base 10
      text.replace('segment 4 30', 'segment 3 30'),
      text.replace('segment 4 30 4', 'segment 4 31 4'),
      text.replace(/segment 3 (.*)\nsegment 4 (.*)\n/, 'segment 3 $1\ncarried 4 $2 1\n'),
      text.replace(/segment 3 .*\nsegment 4 .*\n/, ''),
      text.replace('retention ', 'retention -'),
      text.replace('reason RET-7: retention policy', 'reason  '),
      `${text}extra\n`,
    ];
    for (const t of bad) {
      const note = `${t}\n— ${origin} ${Buffer.alloc(68).toString('base64')}\n`;
      expect(() => parseStatement(note), t).toThrow(/malformed retention statement|signature/);
    }
  });

  it('any single-byte change is refused or no longer verifies, and parsing never throws anything but SealogError', async () => {
    const note = await signStatement(prune, key.log);
    const bytes = Buffer.from(note, 'utf8');
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
        const b = Buffer.from(bytes);
        b[pos] = (b[pos]! + delta) & 0xff;
        const changed = b.toString('utf8');
        let parsed = true;
        try {
          parseStatement(changed);
        } catch (err) {
          expect(isSealogError(err)).toBe(true);
          parsed = false;
        }
        if (parsed && changed !== note) expect(statementSignedBy(changed, origin, [vkey])).toBe(false);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (junk) => {
        try {
          parseStatement(junk);
        } catch (err) {
          expect(isSealogError(err)).toBe(true);
        }
        expect(() => statementNoteOf(junk)).not.toThrow();
      }),
    );
  });

  it('an entry key must match the statement type', async () => {
    const note = await signStatement(hold, key.log);
    const entry = statementEntry(note, hold, 1).entry.toString('utf8').replace('"legalHold"', '"prune"');
    expect(statementNoteOf(entry)).toEqual({ type: 'prune', note });
    // judgeStatements refuses the mismatch (retention.ts); the parser alone reads a hold.
    expect(parseStatement(note).type).toBe('hold');
  });
});
