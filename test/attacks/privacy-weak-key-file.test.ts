import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { WriterProcess } from './harness.js';

// Finding 9c of issue 14: an all-zero, mode-0644 pseudonym key file was
// accepted (its pseudonyms equal a public HMAC anyone can recompute), and key
// text pasted into `file` was echoed in the error. A real writer process must
// refuse to start, with E_KEY, and its output must not hold the key.

async function start(dir: string, keySource: object): Promise<WriterProcess> {
  const w = new WriterProcess({
    path: join(dir, 'audit.db'),
    privacy: { pseudonymize: { paths: ['user.id'], keys: [{ id: 'k1', ...keySource }] } },
  });
  // On a refusal the writer exits 3; a writer that started anyway is killed and the test fails on it.
  const started = await w.ready().then(
    () => true,
    () => false,
  );
  if (started) w.kill();
  await w.exited;
  return w;
}

function keyFile(dir: string, name: string, bytes: Buffer, mode: number): string {
  const f = join(dir, name);
  writeFileSync(f, bytes.toString('base64'), { mode });
  chmodSync(f, mode); // whatever the umask
  return f;
}

/** Every text form a user could have written the key in, whole and in part. */
function encodings(key: Buffer): string[] {
  const forms = [
    key.toString('base64'),
    key.toString('base64url'),
    key.toString('hex'),
    key.toString('hex').toUpperCase(),
    key.toString('base64').replace(/=+$/, ''),
  ];
  return [...forms, ...forms.map((f) => f.slice(0, 16)), ...forms.map((f) => f.slice(-16))];
}

describe('attack: a weak or exposed pseudonymization key', () => {
  it('refuses an all-zero key file of mode 0644, and an all-zero one of mode 0600', async () => {
    const dir = tempDir();
    const open = await start(dir, { file: keyFile(dir, 'zero-open.key', Buffer.alloc(32), 0o644) });
    expect(open.out).not.toContain('ready');
    expect(await open.exited).toBe(3);
    expect(open.err).toMatch(/open-failed E_KEY .*(group or others|not random)/);
    const zero = await start(dir, { file: keyFile(dir, 'zero.key', Buffer.alloc(32), 0o600) });
    expect(zero.err).toMatch(/open-failed E_KEY .*not random/);
    const one = await start(dir, { file: keyFile(dir, 'one.key', Buffer.alloc(48, 0x41), 0o600) });
    expect(one.err).toMatch(/open-failed E_KEY .*not random/);
    // keys are checked before the ledger opens: a refused start leaves no ledger file behind
    expect(existsSync(join(dir, 'audit.db'))).toBe(false);
  });

  it('refuses a random key file that group or others can read, naming the fix', async () => {
    const dir = tempDir();
    const w = await start(dir, { file: keyFile(dir, 'psn.key', randomBytes(32), 0o640) });
    expect(w.err).toMatch(/open-failed E_KEY .*accessible by group or others \(mode 640\).*chmod 600/);
  });

  it('never echoes key text pasted into "file" or "env", in any encoding', async () => {
    const dir = tempDir();
    const key = randomBytes(32);
    for (const text of [key.toString('base64'), key.toString('hex'), key.toString('base64url')]) {
      const w = await start(dir, { file: text });
      expect(w.err).toMatch(/open-failed E_KEY/);
      for (const form of encodings(key)) expect(w.out + w.err, `key as ${form}`).not.toContain(form);
    }
    const hexName = key.toString('hex').toUpperCase();
    const e = await start(dir, { env: `K${hexName}` });
    expect(e.err).toMatch(/open-failed E_KEY/);
    for (const form of encodings(key)) expect(e.out + e.err).not.toContain(form);
  });

  it('a 0600 file of 32 random bytes still works', async () => {
    const dir = tempDir();
    const w = new WriterProcess({
      path: join(dir, 'audit.db'),
      privacy: {
        pseudonymize: {
          paths: ['user.id'],
          keys: [{ id: 'k1', file: keyFile(dir, 'ok.key', randomBytes(32), 0o600) }],
        },
      },
    });
    await w.ready();
    expect(await w.close()).toBe(0);
  });
});
