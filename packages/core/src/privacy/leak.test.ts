// The promise that matters: whatever the record, no raw value of a redacted,
// pseudonymized, generalized or scrubbed field reaches the ledger file or its
// WAL. Real SQLite files through openSink, raw bytes searched.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openSink } from '../sink.js';
import { validatePrivacyConfig } from './config.js';
import { createPrivacyPipeline } from './pipeline.js';
import { luhn } from './scan.js';

const alnum = (min: number, max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`));
const b64url = (n: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{${n}}$`));

const card = fc
  .tuple(fc.constantFrom('4', '5', '3', '6'), fc.stringMatching(/^[0-9]{14}$/), fc.constantFrom('', ' ', '-'))
  .map(([first, body, sep]) => {
    const partial = first + body;
    let check = 0;
    while (!luhn(partial + check)) check++;
    const digits = partial + check;
    return { raw: digits, text: sep ? (digits.match(/.{1,4}/g) as string[]).join(sep) : digits };
  });
// A non-zero last octet: an address whose host bits are all zero is its own /24 network.
const ipv4 = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 255 }))
  .map((o) => o.join('.'));
const ipv6 = fc
  .array(fc.integer({ min: 1, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((w) => w.map((x) => x.toString(16)).join(':'));

const secretRecord = fc.record({
  email: fc.tuple(alnum(10, 20), alnum(4, 10)).map(([l, d]) => `${l}@${d}.example`),
  password: alnum(12, 30),
  authorization: alnum(16, 40).map((t) => `Bearer ${t}9`),
  userId: alnum(10, 20),
  itemSecret: alnum(12, 20),
  ip: fc.oneof(ipv4, ipv6),
  msgEmail: fc.tuple(alnum(10, 20), alnum(4, 10)).map(([l, d]) => `${l}@${d}.org`),
  msgIp: fc.oneof(ipv4, ipv6),
  msgCard: card,
  msgToken: alnum(30, 40).map((t) => `sk_live_${t}`),
  msgJwt: fc.tuple(b64url(20), b64url(30), b64url(43)).map(([a, b, c]) => `eyJ${a}.eyJ${b}.${c}`),
  filler: fc.array(fc.constantFrom('user', 'paid', 'from', 'with', 'ok', 'at', '—', 'ä'), { maxLength: 6 }),
  extra: fc.jsonValue({ maxDepth: 2 }),
});

type Secrets = typeof secretRecord extends fc.Arbitrary<infer T> ? T : never;

function record(s: Secrets, i: number): Record<string, unknown> {
  const words = [...s.filler, s.msgEmail, s.msgIp, s.msgCard.text, s.msgToken, s.msgJwt];
  return {
    level: 30,
    time: 1_700_000_000_000 + i,
    msg: words.join(' '),
    user: { email: s.email, password: s.password, id: s.userId },
    req: { headers: { authorization: s.authorization, host: 'svc.internal' } },
    client: { ip: s.ip },
    items: [{ secret: s.itemSecret, n: 1 }, { n: 2 }],
    extra: s.extra,
  };
}

/** The raw strings that must never be stored (the ip's /24 or /48 network may be). */
function raws(s: Secrets): string[] {
  return [
    s.email,
    s.password,
    s.authorization.slice('Bearer '.length),
    s.userId,
    s.itemSecret,
    s.ip,
    s.msgEmail,
    s.msgIp,
    s.msgCard.text,
    s.msgCard.raw,
    s.msgToken,
    s.msgJwt,
  ];
}

const KEY = randomBytes(32).toString('base64');

function privacy(keyFile: string) {
  return {
    redact: { paths: ['user.password', 'req.headers.authorization', 'items[*].secret'] },
    pseudonymize: { paths: ['user.email', 'user.id'], keys: [{ id: 'k1', file: keyFile }] },
    generalize: [{ path: 'client.ip', ip: {} }],
    scrub: { paths: ['msg'] },
  };
}

function ledgerBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.endsWith('.db') || f.endsWith('.db-wal'))
      .map((f) => readFileSync(join(dir, f))),
  );
}

describe('no raw private value reaches the ledger', () => {
  it('property: random records with secrets at configured paths and in msg', {
    timeout: 120_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(secretRecord, { minLength: 1, maxLength: 5 }), async (batch) => {
        const dir = mkdtempSync(join(tmpdir(), 'sealog-leak-'));
        try {
          const keyFile = join(dir, 'psn.key');
          writeFileSync(keyFile, KEY, { mode: 0o600 });
          const sink = await openSink({ path: join(dir, 'audit.db'), privacy: privacy(keyFile) });
          for (const [i, s] of batch.entries()) sink.write(record(s, i));
          await sink.flush();
          const whileOpen = ledgerBytes(dir);
          await sink.close();
          const afterClose = ledgerBytes(dir);
          expect(existsSync(join(dir, 'audit.db'))).toBe(true);
          // The records did reach the file (so the search below is meaningful).
          expect(afterClose.includes(Buffer.from('svc.internal'))).toBe(true);
          for (const s of batch) {
            for (const raw of raws(s)) {
              expect(whileOpen.includes(Buffer.from(raw)), raw).toBe(false);
              expect(afterClose.includes(Buffer.from(raw)), raw).toBe(false);
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  });

  it('control: without the privacy option the same secrets are found in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-leak-'));
    try {
      const [s] = fc.sample(secretRecord, { numRuns: 1, seed: 7 }) as [Secrets];
      const sink = await openSink({ path: join(dir, 'audit.db') });
      sink.write(record(s, 0));
      await sink.close();
      const bytes = ledgerBytes(dir);
      for (const raw of raws(s).filter((r) => r !== s.msgCard.raw || s.msgCard.text === r)) {
        expect(bytes.includes(Buffer.from(raw)), raw).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('property: apply never mutates its input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-leak-'));
    const keyFile = join(dir, 'psn.key');
    writeFileSync(keyFile, KEY, { mode: 0o600 });
    const p = createPrivacyPipeline(validatePrivacyConfig(privacy(keyFile)));
    rmSync(dir, { recursive: true, force: true });
    fc.assert(
      fc.property(secretRecord, (s) => {
        const rec = record(s, 0);
        const before = structuredClone(rec);
        const out = p.apply(rec);
        expect(rec).toEqual(before);
        expect(out).not.toEqual(before);
      }),
    );
  });

  it('a bad privacy option fails openSink at startup, before a ledger is created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-leak-'));
    try {
      await expect(
        openSink({ path: join(dir, 'a.db'), privacy: { redact: { paths: ['a['] } } }),
      ).rejects.toMatchObject({
        code: 'E_CONFIG',
      });
      expect(existsSync(join(dir, 'a.db'))).toBe(false);
      await expect(
        openSink({
          path: join(dir, 'b.db'),
          privacy: { pseudonymize: { keys: [{ id: 'k', file: join(dir, 'none') }] } },
        }),
      ).rejects.toMatchObject({ code: 'E_KEY' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
