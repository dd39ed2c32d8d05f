import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { SealogError } from '../errors.js';
import { KEY_ID_PATTERN, loadKeyring, loadPseudonymKey } from './keys.js';
import { formatTombstone, parseTombstone } from './tombstone.js';

const AT = Date.UTC(2025, 2, 1, 12, 0, 0, 0);
const LINE = 'SHREDDED sealog-pseudonym-key k2024 2025-03-01T12:00:00.000Z\n';

function thrown(f: () => unknown): SealogError {
  try {
    f();
  } catch (err) {
    if (err instanceof SealogError) return err;
    throw err;
  }
  throw new Error('expected a SealogError');
}

function file(dir: string, name: string, text: string | Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

describe('key tombstone format', () => {
  it('worked example: the line for k2024 destroyed at 2025-03-01T12:00Z, and back', () => {
    expect(formatTombstone('k2024', AT)).toBe(LINE);
    expect(parseTombstone(LINE)).toEqual({
      kind: 'tombstone',
      tombstone: { id: 'k2024', at: '2025-03-01T12:00:00.000Z' },
    });
    expect(parseTombstone(LINE.trimEnd()).kind).toBe('tombstone');
  });

  it('round-trips every valid key id and time; the id class is exactly KEY_ID_PATTERN', () => {
    const id = fc.stringMatching(KEY_ID_PATTERN);
    const ms = fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) });
    fc.assert(
      fc.property(id, ms, (i, t) => {
        const p = parseTombstone(formatTombstone(i, t));
        return p.kind === 'tombstone' && p.tombstone.id === i && Date.parse(p.tombstone.at) === t;
      }),
    );
    // An id the key loader would refuse is never read out of a tombstone either.
    for (const bad of ['', 'a b', 'x'.repeat(33), 'k/1', 'k\u00e9']) {
      expect(parseTombstone(`SHREDDED sealog-pseudonym-key ${bad} 2025-03-01T12:00:00.000Z\n`).kind).toBe(
        'damaged',
      );
    }
  });

  it('anything but the exact line that starts like one is damaged; key text is "other"', () => {
    for (const t of [
      `${LINE}extra`,
      `${LINE}\n`,
      LINE.replace('2025-03-01', '2025-13-45'),
      LINE.replace('.000Z', 'Z'),
      LINE.replace('k2024 ', 'k2024  '),
      'SHREDDED sealog-pseudonym-key',
      'SHREDDED whatever',
      ` ${LINE}`,
    ]) {
      expect(parseTombstone(t).kind, JSON.stringify(t)).toBe('damaged');
    }
    for (const t of [
      randomBytes(32).toString('base64'),
      randomBytes(32).toString('hex'),
      '',
      'SHREDDEDxyz',
    ]) {
      expect(parseTombstone(t).kind).toBe('other');
    }
    // Any text at all: never throws, always one of the three kinds.
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) =>
        ['tombstone', 'damaged', 'other'].includes(parseTombstone(`SHREDDED ${s}`).kind),
      ),
    );
  });
});

describe('loading a shredded key', () => {
  it('loadPseudonymKey refuses a tombstone with E_KEY, the date and "can no longer be linked"', () => {
    const dir = tempDir();
    const f = file(dir, 'psn.key', LINE);
    const e = thrown(() => loadPseudonymKey({ id: 'k2024', file: f }));
    expect(e.code).toBe('E_KEY');
    expect(e.message).toBe(
      `pseudonymization key "k2024" was destroyed on 2025-03-01T12:00:00.000Z: file ${f} holds only its tombstone, ` +
        'and its pseudonyms can no longer be linked to anyone',
    );
    // A tombstone of another id says so; one in an environment variable is refused the same way.
    expect(thrown(() => loadPseudonymKey({ id: 'k9', file: f })).message).toMatch(
      /"k9" was destroyed on .* \(the tombstone names key "k2024"\)/,
    );
    const env = thrown(() => loadPseudonymKey({ id: 'k2024', env: 'PSN' }, { env: { PSN: LINE } }));
    expect(env.message).toMatch(/environment variable PSN holds only its tombstone/);
  });

  it('loadKeyring: E_CONFIG naming keys[i], for the current key and for an old one', () => {
    const dir = tempDir();
    const dead = file(dir, 'old.key', LINE);
    const live = file(dir, 'new.key', randomBytes(32).toString('base64'));
    const sources = [
      { id: 'k2024', file: dead },
      { id: 'k2025', file: live },
    ];
    const old = thrown(() => loadKeyring(sources, 'k2025'));
    expect(old.code).toBe('E_CONFIG');
    expect(old.message).toMatch(
      /^privacy\.pseudonymize\.keys\[0\]: pseudonymization key "k2024" was destroyed on 2025-03-01T12:00:00\.000Z: .*; remove this entry: no pseudonym can be computed under it again$/,
    );
    const cur = thrown(() => loadKeyring([sources[1]!, sources[0]!], 'k2024'));
    expect(cur.message).toMatch(
      /^privacy\.pseudonymize\.keys\[1\]: .*; it is privacy\.pseudonymize\.current: add a new key, make it current, then remove this entry$/,
    );
    // Without the tombstone entry the same ring loads.
    expect(loadKeyring([sources[1]!], 'k2025').ids).toEqual(['k2025']);
  });

  it('an edited or garbage tombstone is refused as no key, never echoed, never a crash', () => {
    const dir = tempDir();
    const secret = randomBytes(32).toString('base64');
    const cases: [string, string | Buffer, RegExp][] = [
      ['edited date', LINE.replace('2025', 'yyyy'), /starts like the tombstone .* holds no key/],
      ['key text appended', `${LINE}${secret}\n`, /starts like the tombstone .* holds no key/],
      ['cut short', LINE.slice(0, 20), /starts like the tombstone .* holds no key/],
      ['words', 'this key was shredded\n', /not hex or base64 text/],
      ['binary', randomBytes(64), /not hex or base64 text/],
      ['empty', '', /not hex or base64 text/],
    ];
    for (const [name, text, msg] of cases) {
      const f = file(dir, `${name.replaceAll(' ', '-')}.key`, text);
      const e = thrown(() => loadPseudonymKey({ id: 'k2024', file: f }));
      expect(e.code, name).toBe('E_KEY');
      expect(e.message, name).toMatch(msg);
      expect(e.message, name).not.toContain(secret);
    }
  });
});
