// Issue 19, items 4 and 9: what a new user sees when they slip. Each message
// names what was wrong and what to type instead, in one line, without the
// whole usage text after it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey, Ledger, writeKeyFile } from '../packages/core/src/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const VERSION = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../packages/cli/package.json'), 'utf8')) as {
    version: string;
  }
).version;

async function sealed() {
  const dir = tempDir();
  const path = join(dir, 'audit.db');
  const ledger = Ledger.open({ path });
  for (let i = 0; i < 3; i++) ledger.write({ i, msg: `m${i}` });
  await ledger.close();
  const key = generateKey('audit.example/log');
  const keyFile = join(dir, 'audit.key');
  writeKeyFile(keyFile, key.privateKey);
  const vkeyFile = join(dir, 'verifier.keys');
  writeFileSync(vkeyFile, `${key.verifierKey}\n${key.cosignerVerifierKey}\n`);
  expect((await runCli(['checkpoint', path, '--key', keyFile])).code).toBe(0);
  return { dir, path, vkeyFile, vkey: key.verifierKey };
}

describe('sealog --version, help <command>', () => {
  it('--version and -V print the CLI package version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r).toEqual({ code: 0, out: `${VERSION}\n`, err: '' });
    }
  });

  it('help <command> prints that command usage; help alone the overview', async () => {
    const r = await runCli(['help', 'verify']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: sealog verify <ledger>/);
    expect((await runCli(['help'])).out).toMatch(/^usage: sealog <command>/);
    expect((await runCli(['--help'])).out).toContain('--version');
  });

  it('an unknown command says what was meant, in one line plus the --help hint', async () => {
    for (const argv of [
      ['verfy', 'x.db'],
      ['help', 'verfy'],
    ]) {
      const r = await runCli(argv);
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        'sealog: unknown command "verfy"; did you mean "verify"?\nrun sealog --help for the list of commands\n',
      );
    }
  });
});

describe('usage errors: one line, then where the usage is', () => {
  it('a typo in a flag: unknown option --x for sealog <cmd>, did you mean', async () => {
    const r = await runCli(['tail', '--folow', 'x.db']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'sealog: unknown option --folow for sealog tail; did you mean --follow?\nrun sealog tail --help for usage\n',
    );
    const q = await runCli(['query', 'x.db', '--levl', 'info']);
    expect(q.err).toMatch(/^sealog: unknown option --levl for sealog query; did you mean --level\?\n/);
    expect(q.err).not.toMatch(/positional|'--'/);
    // Flags of commands this change does not touch get the same treatment.
    const k = await runCli(['keygen', '--nmae', 'a.example/x']);
    expect(k.err).toMatch(/^sealog: unknown option --nmae for sealog keygen; did you mean --name\?\n/);
    // Nothing close: no guess, still one line and the hint.
    const far = await runCli(['verify', 'x.db', '--zzzzzz']);
    expect(far.err).toBe(
      'sealog: unknown option --zzzzzz for sealog verify\nrun sealog verify --help for usage\n',
    );
    const short = await runCli(['tail', '-x', 'x.db']);
    expect(short.err).toMatch(/^sealog: unknown option -x for sealog tail\n/);
  });

  it('a flag missing its value, or given one it does not take', async () => {
    const r = await runCli(['tail', 'x.db', '--lines']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('sealog tail: option --lines needs a value\nrun sealog tail --help for usage\n');
    const j = await runCli(['tail', 'x.db', '--json=yes']);
    expect(j.err).toMatch(/^sealog tail: option --json takes no value\n/);
  });

  it('a bad value does not reprint the usage', async () => {
    const r = await runCli(['tail', 'x.db', '-n', 'lots']);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'sealog tail: --lines must be a non-negative integer, got "lots"\nrun sealog tail --help for usage\n',
    );
  });
});

describe('item 4: a file name given to --key', () => {
  it('a missing file: says it looks like a file name, that no such file exists, and --key-file', async () => {
    const { path, dir } = await sealed();
    const missing = join(dir, 'missing.keys');
    const r = await runCli(['verify', path, '--key', missing]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--key "${missing}" is not a verifier key: it looks like a file name`);
    expect(r.err).toContain(`no file "${missing}" exists`);
    expect(r.err).toContain('--key-file');
    expect(r.err.trim().split('\n')).toHaveLength(2);
  });

  it('a typo in the file name: suggests the file beside it', async () => {
    const { path, dir } = await sealed();
    const r = await runCli(['verify', path, '--key', join(dir, 'verifer.keys')]);
    expect(r.err).toContain(`(did you mean "${join(dir, 'verifier.keys')}"?)`);
    const w = await runCli([
      'verify',
      path,
      '--key-file',
      join(dir, 'verifier.keys'),
      '--witness',
      join(dir, 'witness.keys'),
    ]);
    expect(w.err).toMatch(
      /--witness ".*witness\.keys" is not a verifier key: it looks like a file name.*--witness-file/,
    );
  });

  it('an existing file: use --key-file "<path>"', async () => {
    const { path, vkeyFile } = await sealed();
    const r = await runCli(['verify', path, '--key', vkeyFile]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `--key "${vkeyFile}" is not a verifier key: it names a file; to read keys from a file, use --key-file "${vkeyFile}"`,
    );
  });
});

describe('item 9: messages that name the path', () => {
  it('verify <directory> says it is a directory and names the ledgers in it', async () => {
    const { dir } = await sealed();
    for (const args of [
      ['verify', dir, '--chain-only'],
      ['verify', `${dir}/`, '--chain-only'],
      ['query', dir],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/is a directory, not a ledger file; give the ledger file in it: .*audit\.db/);
    }
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r = await runCli(['verify', empty, '--chain-only']);
    expect(r.err).toMatch(/empty is a directory, not a ledger file\n/);
  });

  it('export onto an existing file says it exists and what to do', async () => {
    const { dir, path, vkeyFile } = await sealed();
    const out = join(dir, 'bundle.json');
    writeFileSync(out, 'mine');
    const r = await runCli(['export', path, '--key-file', vkeyFile, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${out} already exists; choose another name or remove it`);
    expect(readFileSync(out, 'utf8')).toBe('mine');
    const full = join(dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), '');
    const d = await runCli(['export', path, '--key-file', vkeyFile, '--out', full]);
    expect(d.err).toContain(`${full} is not empty; choose a new directory`);
    const ok = await runCli(['export', path, '--key-file', vkeyFile, '--out', join(dir, 'b2.json')]);
    expect(ok.code, ok.err).toBe(0);
  });
});
