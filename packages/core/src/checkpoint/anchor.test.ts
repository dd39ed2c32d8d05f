import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { AnchorHeads, OwnKey } from '../chain/trust.js';
import { Ed25519Signer } from '../note/keys.js';
import { appendAnchor, appendAnchorAsync, splitAnchorNotes } from './anchor.js';
import { openCheckpoint, signCheckpoint } from './signed.js';

const SIGNER = new Ed25519Signer('test.example/log', new Uint8Array(32).fill(7));
const note = (size: number) =>
  signCheckpoint({ origin: SIGNER.name, size, root: new Uint8Array(32).fill(size) }, SIGNER, 1000 + size);

describe('anchor file', () => {
  it('appends notes separated by one empty line and splits them back', () => {
    const path = join(tempDir(), 'anchor.txt');
    const notes = [note(1), note(2), note(3)];
    for (const n of notes) appendAnchor(path, n);
    const text = readFileSync(path, 'utf8');
    expect(text).toBe(notes.map((n) => `${n}\n`).join(''));
    const split = splitAnchorNotes(text);
    expect(split).toEqual(notes);
    expect(split.map((n) => openCheckpoint(n, [SIGNER.verifierKey]).checkpoint.size)).toEqual([1, 2, 3]);
  });

  it('returns a truncated last note as is, so the verifier can report it', () => {
    const text = `${note(1)}\n${note(2).slice(0, 50)}`;
    const split = splitAnchorNotes(text);
    expect(split).toHaveLength(2);
    expect(split[0]).toBe(note(1));
    expect(() => openCheckpoint(split[1] ?? '', [SIGNER.verifierKey])).toThrow(/malformed/);
  });

  it('property: splitting any text never throws and loses no signature line', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '', '— k AAAA', '\n', 'x y'), { maxLength: 30 }), (lines) => {
        const text = lines.join('\n');
        const parts = splitAnchorNotes(text);
        const sigLines = (s: string) => s.split('\n').filter((l) => l.startsWith('— ')).length;
        expect(parts.reduce((n, p) => n + sigLines(p), 0)).toBe(sigLines(text));
      }),
    );
  });

  // Found by a red-team review: a note torn by a full disk swallowed the next one, so
  // writers cross-checking the anchor missed both heads.
  for (const cut of [20, note(1).indexOf('\n\n') + 2, note(1).length - 5]) {
    it(`a torn note (cut at ${cut}) does not swallow the next one, in a full or an incremental read`, () => {
      const path = join(tempDir(), 'anchor.txt');
      appendAnchor(path, note(1));
      writeFileSync(path, note(2).slice(0, cut), { flag: 'a' }); // the torn write
      const own = new OwnKey(SIGNER.verifierKey, SIGNER.name);
      const reader = new AnchorHeads(own, path);
      expect(reader.read().map((h) => h.size)).toEqual([1]);
      appendAnchor(path, note(3));
      const sizes = splitAnchorNotes(readFileSync(path, 'utf8')).flatMap((n) => {
        try {
          return [openCheckpoint(n, [SIGNER.verifierKey]).checkpoint.size];
        } catch {
          return [];
        }
      });
      // note 3 is never hidden; the torn note 2 counts only if its log signature survived
      expect(sizes[0]).toBe(1);
      expect(sizes[sizes.length - 1]).toBe(3);
      expect(reader.read().map((h) => h.size)).toEqual(sizes);
      expect(new AnchorHeads(own, path).read().map((h) => h.size)).toEqual(sizes);
    });
  }

  // The writer's sealer appends off its thread (appendAnchorAsync): the bytes must be
  // the same as the synchronous form's, torn notes included.
  for (const cut of [undefined, 20, note(1).length - 5]) {
    it(`appendAnchorAsync writes what appendAnchor writes (${cut === undefined ? 'whole file' : `after a tear at ${cut}`})`, async () => {
      const dir = tempDir();
      const [a, b] = [join(dir, 'sync.txt'), join(dir, 'async.txt')];
      for (const path of [a, b]) {
        appendAnchor(path, note(1));
        if (cut !== undefined) writeFileSync(path, note(2).slice(0, cut), { flag: 'a' });
      }
      appendAnchor(a, note(3));
      await appendAnchorAsync(b, note(3));
      expect(readFileSync(b, 'utf8')).toBe(readFileSync(a, 'utf8'));
      const fresh = join(dir, 'fresh.txt');
      await appendAnchorAsync(fresh, note(4));
      expect(readFileSync(fresh, 'utf8')).toBe(`${note(4)}\n`);
    });
  }

  it('appendAnchorAsync fails with E_IO naming the path when it cannot write', async () => {
    const path = join(tempDir(), 'missing-dir', 'anchor.txt');
    await expect(appendAnchorAsync(path, note(1))).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining(path),
    });
  });
});
