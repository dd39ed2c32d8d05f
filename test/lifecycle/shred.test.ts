// Crypto-shredding a pseudonymization key (issue 18 §4), end to end: a real
// pino worker writes pseudonymized records, the real `sealog` binary shreds
// the key and records it in the ledger, and then everything left behind is
// searched for the key and tried against the stored pseudonyms.
// Needs the build: the worker imports packages/pino/dist, `sealog` is packages/cli/dist.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  LedgerReader,
  loadPseudonymKey,
  openSink,
  PseudonymKey,
  pseudonymOf,
} from '../../packages/core/src/index.js';
import { keygen, sealog } from '../attacks/harness.js';
import { tempDir } from '../helpers/tmp.js';
import { PINO_TARGET } from '../transport-helpers.js';

type Transport = ReturnType<typeof pino.transport>;

const ALICE = 'alice@example.com';
const TOMBSTONE = /^SHREDDED sealog-pseudonym-key k2024 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\n$/;

function end(t: Transport): Promise<void> {
  return new Promise((res) => {
    t.once('close', () => res());
    t.end();
  });
}

/** The error a pino transport fails its startup with (rejects if it started). */
function startupError(options: object): Promise<Error> {
  const t = pino.transport({ target: PINO_TARGET, options });
  return new Promise((res, rej) => {
    t.once('error', res);
    t.once('ready', () => {
      void end(t).then(() => rej(new Error('the transport started')));
    });
  });
}

function keyFile(dir: string, name: string, key: Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, `${key.toString('base64')}\n`, { mode: 0o600 });
  return f;
}

function psnConfig(keys: { id: string; file: string }[], current: string) {
  return { pseudonymize: { paths: ['user.email'], keys, current } };
}

function entries(path: string): Buffer[] {
  const r = new LedgerReader(path);
  try {
    return [...r.records()].map((x) => Buffer.from(x.entry));
  } finally {
    r.close();
  }
}

/** Every text form the key could appear in, pieces of them, and windows of its raw bytes. */
function keyForms(key: Buffer): Buffer[] {
  const texts = [
    key.toString('base64'),
    key.toString('base64').replace(/=+$/, ''),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
  ].flatMap((t) => [t, t.slice(0, 16), t.slice(-16)]);
  return [...texts.map((t) => Buffer.from(t)), key, key.subarray(0, 12), key.subarray(20)];
}

describe('crypto-shredding a pseudonymization key', () => {
  it('destroys the link for good: no key bytes left, lookups and transports refuse it, the ledger still verifies', async () => {
    const dir = tempDir();
    const path = join(dir, 'audit.db');
    const ck = await keygen(dir);
    const key2024 = randomBytes(32);
    const f2024 = keyFile(dir, 'psn-2024.key', key2024);
    const f2025 = keyFile(dir, 'psn-2025.key', randomBytes(32));

    // Records written under k2024 by a real pino worker, sealed on close.
    const t = pino.transport({
      target: PINO_TARGET,
      options: {
        path,
        privacy: psnConfig([{ id: 'k2024', file: f2024 }], 'k2024'),
        checkpoint: { keyFile: ck.keyFile },
      },
    });
    const log = pino({ base: undefined }, t);
    for (let i = 0; i < 3; i++) log.info({ user: { email: ALICE }, i }, 'login');
    log.info({ user: { email: 'bob@example.com' } }, 'login');
    await end(t);
    const before = entries(path);
    expect(before).toHaveLength(4);
    const stored = (JSON.parse(before[0]!.toString()) as { user: { email: string } }).user.email;
    expect(stored).toMatch(/^psn:k2024:/);

    // Before the shred, the key holder links the pseudonym to Alice: the refusal below is the shred's doing.
    const linked = await sealog(['pseudonym', ALICE, '--key-id', 'k2024', '--key-file', f2024]);
    expect(linked).toMatchObject({ code: 0, out: `${stored}\n` });
    expect((await sealog(['verify', path, '--key-file', ck.vkeyFile, '--strict'])).code).toBe(0);

    const reason = 'PRIV-42: retention of 2024 ended';
    const shred = await sealog([
      'pseudonym',
      'shred',
      '--key-id',
      'k2024',
      '--key-file',
      f2024,
      '--yes',
      '--ledger',
      path,
      '--reason',
      reason,
    ]);
    expect(shred.code, shred.err).toBe(0);
    const at = TOMBSTONE.exec(shred.out)?.[1] as string;
    expect(at).toBeDefined();

    // (a) the key file is the tombstone and holds no byte sequence of the key, in any encoding.
    const tomb = readFileSync(f2024);
    expect(tomb.toString()).toBe(shred.out);
    for (const form of keyForms(key2024)) expect(tomb.includes(form)).toBe(false);

    // (b) `sealog pseudonym` refuses the key ID: exit 2, the date, and why.
    const refused = await sealog(['pseudonym', ALICE, '--key-id', 'k2024', '--key-file', f2024]);
    expect(refused.code).toBe(2);
    expect(refused.out).toBe('');
    expect(refused.err).toContain(
      `E_KEY: pseudonymization key "k2024" was destroyed on ${at}: file ${f2024} holds only its tombstone, ` +
        'and its pseudonyms can no longer be linked to anyone',
    );

    // (c) a transport whose keyring still lists the key fails startup, current or not, before creating a ledger.
    const fresh = join(dir, 'new.db');
    const both = [
      { id: 'k2024', file: f2024 },
      { id: 'k2025', file: f2025 },
    ];
    const old = await startupError({ path: fresh, privacy: psnConfig(both, 'k2025') });
    expect(old.message).toMatch(
      /^sealog E_CONFIG: privacy\.pseudonymize\.keys\[0\]: pseudonymization key "k2024" was destroyed on .*; remove this entry: no pseudonym can be computed under it again/,
    );
    const cur = await startupError({ path: fresh, privacy: psnConfig(both, 'k2024') });
    expect(cur.message).toMatch(
      /^sealog E_CONFIG: privacy\.pseudonymize\.keys\[0\]: .*; it is privacy\.pseudonymize\.current: add a new key, make it current, then remove this entry/,
    );
    expect(existsSync(fresh)).toBe(false);

    // (d) the records written before keep their bytes, so their pseudonyms, and (e) one record was appended.
    const after = entries(path);
    expect(after).toHaveLength(5);
    for (const [i, e] of before.entries()) expect(after[i]!.equals(e)).toBe(true);
    const audit = JSON.parse(after[4]!.toString());
    expect(audit).toMatchObject({
      _sealog: { keyShredded: { id: 'k2024', at, reason } },
      level: 30,
      msg: `sealog: pseudonym key k2024 destroyed on ${at}; its pseudonyms can no longer be linked to anyone`,
    });

    // Nothing left recomputes Alice's pseudonym: every key one can still load, a new key under the
    // old ID, and the tombstone (which loads as no key at all).
    const loadable = [
      loadPseudonymKey({ id: 'k2025', file: f2025 }),
      PseudonymKey.fromText('k2024', randomBytes(32).toString('hex'), 'test'),
    ];
    for (const k of loadable) expect(pseudonymOf(ALICE, k)).not.toBe(stored);
    expect(() => loadPseudonymKey({ id: 'k2024', file: f2024 })).toThrow(/destroyed on/);
    // ...and no artefact holds the key: ledger files, key files, every output.
    const outputs = [linked, shred, refused].map((r) => r.out + r.err).join('\n') + old.message + cur.message;
    const artefacts = readdirSync(dir).map((n) => readFileSync(join(dir, n)));
    for (const form of keyForms(key2024)) {
      expect(outputs.includes(form.toString('latin1'))).toBe(false);
      for (const a of artefacts) expect(a.includes(form)).toBe(false);
    }

    // (e) the record is unsealed until the next checkpoint; then verify passes in full.
    expect((await sealog(['verify', path, '--key-file', ck.vkeyFile, '--strict'])).code).toBe(1);
    expect((await sealog(['checkpoint', path, '--key', ck.keyFile])).code).toBe(0);
    const v = await sealog(['verify', path, '--key-file', ck.vkeyFile, '--strict']);
    expect(v.code, v.out + v.err).toBe(0);
    expect(v.out).toMatch(/5 records.*\n[\s\S]*OK: intact, every record covered by a valid checkpoint/);

    // With the entry removed, a writer starts again on the same ledger under the new key.
    const next = pino.transport({
      target: PINO_TARGET,
      options: {
        path,
        privacy: psnConfig([{ id: 'k2025', file: f2025 }], 'k2025'),
        checkpoint: { keyFile: ck.keyFile },
      },
    });
    pino({ base: undefined }, next).info({ user: { email: ALICE } }, 'login');
    await end(next);
    expect(JSON.parse(entries(path)[5]!.toString()).user.email).toMatch(/^psn:k2025:/);
    expect((await sealog(['verify', path, '--key-file', ck.vkeyFile, '--strict'])).code).toBe(0);
  });

  it('a process that loaded the key keeps using it until it restarts (docs: "Running processes")', async () => {
    const dir = tempDir();
    const f = keyFile(dir, 'psn.key', randomBytes(32));
    const path = join(dir, 'audit.db');
    const sink = await openSink({ path, privacy: psnConfig([{ id: 'k2024', file: f }], 'k2024') });
    sink.write({ level: 30, time: 1, msg: 'before', user: { email: ALICE } });
    await sink.flush();
    expect((await sealog(['pseudonym', 'shred', '--key-id', 'k2024', '--key-file', f, '--yes'])).code).toBe(
      0,
    );
    sink.write({ level: 30, time: 2, msg: 'after', user: { email: ALICE } });
    await sink.close();
    const [a, b] = entries(path).map((e) => JSON.parse(e.toString()).user.email as string);
    expect(b).toBe(a);
    expect(b).toMatch(/^psn:k2024:/);
    await expect(openSink({ path, privacy: psnConfig([{ id: 'k2024', file: f }], 'k2024') })).rejects.toThrow(
      /keys\[0\]: pseudonymization key "k2024" was destroyed/,
    );
  });

  it('an edited or garbage tombstone is refused as no key, by the CLI and by a transport, without a crash', async () => {
    const dir = tempDir();
    const f = keyFile(dir, 'psn.key', randomBytes(32));
    const shred = await sealog(['pseudonym', 'shred', '--key-id', 'k2024', '--key-file', f, '--yes']);
    expect(shred.code).toBe(0);
    const line = readFileSync(f, 'utf8');
    const cases: [string, string | Buffer, RegExp][] = [
      [
        'date edited',
        line.replace(/T\d\d/, 'T99'),
        /starts like the tombstone of a destroyed key but is not one/,
      ],
      [
        'id edited',
        line.replace('k2024', 'k 2024'),
        /starts like the tombstone of a destroyed key but is not one/,
      ],
      ['words', 'key shredded by ops\n', /not hex or base64 text/],
      ['binary', randomBytes(200), /not hex or base64 text/],
    ];
    for (const [name, text] of cases) {
      writeFileSync(f, text, { mode: 0o600 });
      const r = await sealog(['pseudonym', 'x', '--key-id', 'k2024', '--key-file', f]);
      expect(r.code, name).toBe(2);
      expect(r.err, name).toMatch(cases.find((c) => c[0] === name)![2]);
      expect(r.err, name).not.toMatch(/\n\s+at /); // a message, not a stack
      const e = await startupError({
        path: join(dir, 'a.db'),
        privacy: psnConfig([{ id: 'k2024', file: f }], 'k2024'),
      });
      expect(e.message, name).toMatch(/^sealog E_KEY: pseudonymization key "k2024"/);
    }
  });

  it('refuses --key-env (the secret store holds it), and without --yes destroys nothing', async () => {
    const dir = tempDir();
    const key = randomBytes(32);
    const f = keyFile(dir, 'psn.key', key);
    const env = await sealog([
      'pseudonym',
      'shred',
      '--key-id',
      'k1',
      '--key-env',
      'SEALOG_PSN_KEY',
      '--yes',
    ]);
    expect(env.code).toBe(2);
    expect(env.err).toMatch(/sealog cannot destroy it there: delete the secret in the store/);
    const noYes = await sealog(['pseudonym', 'shred', '--key-id', 'k1', '--key-file', f]);
    expect(noYes.code).toBe(2);
    expect(noYes.err).toMatch(/add --yes/);
    const missing = await sealog([
      'pseudonym',
      'shred',
      '--key-id',
      'k1',
      '--key-file',
      f,
      '--yes',
      '--ledger',
      join(dir, 'typo.db'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/E_IO: ledger .*typo\.db does not exist/);
    expect(readFileSync(f, 'utf8')).toBe(`${key.toString('base64')}\n`);
  });
});
