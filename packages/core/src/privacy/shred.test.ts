import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { SealogError } from '../errors.js';
import { generateKey } from '../note/keys.js';
import { loadPseudonymKey } from './keys.js';
import { checkShredReason, keyShreddedEntry, shredKeyFile } from './shred.js';
import { formatTombstone } from './tombstone.js';

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

/** Every text form the key could be written in, and 12-byte windows of the raw bytes. */
function keyForms(key: Buffer): Buffer[] {
  const texts = [
    key.toString('base64'),
    key.toString('base64').replace(/=+$/, ''),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
  ];
  const pieces = texts.flatMap((t) => [t, t.slice(0, 16), t.slice(-16)]);
  const windows = [0, 10, 20].map((o) => key.subarray(o, o + 12));
  return [...pieces.map((p) => Buffer.from(p)), key, ...windows];
}

function keyFile(
  dir: string,
  name: string,
  key: Buffer,
  enc: 'base64' | 'hex' = 'base64',
  extra = '',
): string {
  const f = join(dir, name);
  writeFileSync(f, `${key.toString(enc)}\n${extra}`, { mode: 0o600 });
  return f;
}

describe('shredKeyFile', () => {
  it('leaves only the tombstone: no byte sequence of the key in any encoding, mode 0600', () => {
    const dir = tempDir();
    for (const enc of ['base64', 'hex'] as const) {
      const key = randomBytes(32);
      // Trailing blank lines are part of the file, and overwritten too.
      const f = keyFile(dir, `${enc}.key`, key, enc, '\n\n\n');
      chmodSync(f, 0o600);
      expect(loadPseudonymKey({ id: 'k2024', file: f })).toBeDefined();
      expect(shredKeyFile(f, 'k2024', AT)).toEqual({
        id: 'k2024',
        at: '2025-03-01T12:00:00.000Z',
        already: false,
      });
      const after = readFileSync(f);
      expect(after.toString()).toBe(LINE);
      for (const form of keyForms(key)) expect(after.includes(form), form.toString('hex')).toBe(false);
      expect(statSync(f).mode & 0o777).toBe(0o600);
    }
  });

  it('destroys the key in place: a hard link made before the shred holds no key after it', () => {
    // A shred that wrote a new file and renamed it over the old name would leave the key
    // in the old inode, reachable through this link.
    const dir = tempDir();
    const key = randomBytes(32);
    const f = keyFile(dir, 'psn.key', key);
    linkSync(f, join(dir, 'link.key'));
    const via = join(dir, 'via-symlink.key');
    symlinkSync(f, via);
    shredKeyFile(via, 'k2024', AT);
    for (const p of [f, join(dir, 'link.key'), via]) expect(readFileSync(p, 'utf8')).toBe(LINE);
  });

  it("is idempotent on its own tombstone and refuses another key's", () => {
    const dir = tempDir();
    const f = keyFile(dir, 'psn.key', randomBytes(32));
    shredKeyFile(f, 'k2024', AT);
    expect(shredKeyFile(f, 'k2024', AT + 99_000)).toEqual({
      id: 'k2024',
      at: '2025-03-01T12:00:00.000Z',
      already: true,
    });
    const e = thrown(() => shredKeyFile(f, 'k2025'));
    expect(e.code).toBe('E_KEY');
    expect(e.message).toMatch(
      /tombstone of key "k2024" \(destroyed on 2025-03-01T12:00:00.000Z\), not of key "k2025"; nothing was changed/,
    );
    expect(readFileSync(f, 'utf8')).toBe(LINE);
  });

  it('finishes a shred cut short after the overwrite (tombstone line, then random bytes)', () => {
    const dir = tempDir();
    const f = join(dir, 'psn.key');
    writeFileSync(f, Buffer.concat([Buffer.from(LINE), randomBytes(40)]), { mode: 0o600 });
    expect(thrown(() => loadPseudonymKey({ id: 'k2024', file: f })).message).toMatch(
      /starts like the tombstone/,
    );
    expect(shredKeyFile(f, 'k2024', AT + 5_000)).toMatchObject({
      at: '2025-03-01T12:00:00.000Z',
      already: false,
    });
    expect(readFileSync(f, 'utf8')).toBe(LINE);
  });

  it('refuses, and leaves exactly as it was, anything that is not a pseudonymization key', () => {
    const dir = tempDir();
    const checkpointKey = join(dir, 'audit.key');
    writeFileSync(checkpointKey, `${generateKey('audit.example/x').privateKey}\n`, { mode: 0o600 });
    const cases: [string, Buffer][] = [
      ['checkpoint.key', readFileSync(checkpointKey)],
      ['short.key', Buffer.from(randomBytes(16).toString('hex'))],
      ['zero.key', Buffer.from(Buffer.alloc(32).toString('base64'))],
      ['notes.txt', Buffer.from('remember to rotate the key in March\n')],
      ['big.key', Buffer.from(randomBytes(4000).toString('base64'))],
      ['empty.key', Buffer.alloc(0)],
      ['other-damaged.key', Buffer.from(`${LINE.replace('k2024', 'k2023')}junk`)],
    ];
    for (const [name, bytes] of cases) {
      const f = join(dir, name);
      writeFileSync(f, bytes, { mode: 0o600 });
      const e = thrown(() => shredKeyFile(f, 'k2024'));
      expect(e.code, name).toBe('E_KEY');
      expect(e.message, name).toMatch(/is not a pseudonymization key \(.*\); nothing was changed/);
      expect(readFileSync(f).equals(bytes), name).toBe(true);
    }
    mkdirSync(join(dir, 'd'));
    expect(thrown(() => shredKeyFile(join(dir, 'd'), 'k2024')).message).toMatch(
      /cannot open .*EISDIR|not a regular file/,
    );
    expect(thrown(() => shredKeyFile(join(dir, 'none.key'), 'k2024')).message).toMatch(
      /ENOENT; nothing was changed/,
    );
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(thrown(() => shredKeyFile(fifo, 'k2024')).message).toMatch(
      /not a regular file; nothing was changed/,
    );
    expect(thrown(() => shredKeyFile(checkpointKey, 'bad id')).message).toMatch(
      /^key id must match .*got "bad id"$/,
    );
  });

  it('never names key text that was given as the path', () => {
    const text = randomBytes(32).toString('base64url');
    const e = thrown(() => shredKeyFile(text, 'k2024'));
    expect(e.message).toMatch(/not shown: it looks like key text/);
    expect(e.message).not.toContain(text.slice(0, 16));
  });
});

describe('shredding reason and ledger entry', () => {
  it('a reason is one short line of plain text without personal data', () => {
    expect(checkShredReason('ticket PRIV-42: retention of 2024 ended')).toBe(
      'ticket PRIV-42: retention of 2024 ended',
    );
    expect(checkShredReason('é'.repeat(200))).toHaveLength(200);
    const bad: [string, RegExp][] = [
      ['', /1 to 200 characters, got 0/],
      ['   ', /1 to 200 characters/],
      ['x'.repeat(201), /got 201/],
      ['x'.repeat(100_000), /1 to 200 characters/],
      ['two\nlines', /no control/],
      ['bell\u0007', /no control/],
      ['rtl\u202Eoverride', /no control/],
      ['line\u2028sep', /no control/],
      ['lone \uD800 surrogate', /no control/],
      ['request from alice@example.com', /looks like personal data .*\(email\)/],
      ['seen from 203.0.113.7', /\(ip\)/],
      ['card 4111 1111 1111 1111', /\(card\)/],
    ];
    for (const [r, msg] of bad) {
      const e = thrown(() => checkShredReason(r));
      expect(e.code).toBe('E_CONFIG');
      expect(e.message, JSON.stringify(r)).toMatch(msg);
      // The reason itself is never echoed (it may be what must not be kept).
      if (r.length > 3) expect(e.message).not.toContain(r.trim().slice(-12));
    }
  });

  it("worked example: the canonical entry, sealog's own top-level _sealog", () => {
    const e = keyShreddedEntry(
      { id: 'k2024', at: '2025-03-01T12:00:00.000Z', already: false },
      'PRIV-42',
      AT,
    );
    expect(e.ts).toBe(AT);
    expect(e.entry.toString()).toBe(
      '{"_sealog":{"keyShredded":{"at":"2025-03-01T12:00:00.000Z","id":"k2024","reason":"PRIV-42"}},' +
        '"level":30,"levelLabel":"info","msg":"sealog: pseudonym key k2024 destroyed on 2025-03-01T12:00:00.000Z; ' +
        'its pseudonyms can no longer be linked to anyone","time":1740830400000}',
    );
    // docs/privacy.md shows this exact entry and tombstone.
    const doc = readFileSync(join(import.meta.dirname, '../../../../docs/privacy.md'), 'utf8');
    expect(doc).toContain(`\n${e.entry.toString()}\n`);
    expect(doc).toContain(`\n${LINE}`);
    const none = keyShreddedEntry(
      { id: 'k2024', at: formatTombstone('k', AT).slice(-25, -1), already: true },
      undefined,
      AT,
    );
    expect(JSON.parse(none.entry.toString())._sealog).toEqual({
      keyShredded: { at: '2025-03-01T12:00:00.000Z', id: 'k2024' },
    });
  });
});
