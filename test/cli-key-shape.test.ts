// A mistyped --key is judged as a key, not as a file name (issue 19): every
// verifier key `<name>+<8 hex>+<base64>` may hold "/" (an origin such as
// example.com/audit, and base64 itself), so "/" said nothing about paths.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey, Ledger } from '../packages/core/src/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

async function ledger(): Promise<string> {
  const path = join(tempDir(), 'k.db');
  const l = Ledger.open({ path });
  l.write({ level: 30, msg: 'x' });
  await l.close();
  return path;
}

const vkey = generateKey('example.com/audit').verifierKey;
// Split at the first two '+' only: standard base64 holds '+' too (about half of
// all keys), and split('+') cut the key material short (a CI failure).
const [name, id, b64] = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(vkey)!.slice(1) as [string, string, string];

async function keyError(value: string): Promise<string> {
  const r = await runCli(['verify', await ledger(), '--key', value]);
  expect(r.code).toBe(2);
  return r.err;
}

describe('--key <value with the shape of a key>', () => {
  it('one base64 character missing: says the key material is the wrong length, not "file name"', async () => {
    const err = await keyError(`${name}+${id}+${b64.slice(0, 20)}${b64.slice(21)}`);
    expect(err).toContain('is not a verifier key');
    expect(err).not.toMatch(/file name|no file/);
    expect(err).toMatch(/43 characters.*44/);
  });

  it('a character that is not base64: says the base64 is bad', async () => {
    const bad = `${b64.slice(0, 10)}!${b64.slice(11)}`;
    const err = await keyError(`${name}+${id}+${bad}`);
    expect(err).not.toMatch(/file name|no file/);
    expect(err).toMatch(/not standard base64/);
  });

  it('a changed character: says the ID does not match', async () => {
    const changed = `${b64.slice(0, 5)}${b64[5] === 'A' ? 'B' : 'A'}${b64.slice(6)}`;
    const err = await keyError(`${name}+${id}+${changed}`);
    expect(err).not.toMatch(/file name|no file/);
    expect(err).toMatch(/verifier key (ID does not match|is not a valid Ed25519)/);
  });

  it('a name+ID with nothing after it is still a key with its material missing', async () => {
    const err = await keyError(`${name}+${id}+`);
    expect(err).not.toMatch(/file name|no file/);
    expect(err).toContain('is not a verifier key');
  });
});

describe('--key <a path>', () => {
  it('an empty value is no file name (a shell variable that was not set)', async () => {
    const err = await keyError('');
    expect(err).not.toMatch(/file name|no file/);
    expect(err).toContain('verifier key must look like <name>+<8 hex digits>+<base64>');
  });

  it('a file name that does not exist is still called one', async () => {
    const dir = tempDir();
    const err = await keyError(join(dir, 'keys', 'missing.keys'));
    expect(err).toMatch(/it looks like a file name, and no file .* exists/);
    expect(err).toContain('--key-file');
  });

  it('a path with a "+" in it but no key ID is a path', async () => {
    const err = await keyError('./backup+old/verifier.keys');
    expect(err).toMatch(/it looks like a file name/);
  });
});
