import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRecord, LedgerReader, openSink, verifyLedger } from '../../packages/core/src/index.js';
import { makeKey } from '../faults/harness.js';
import { tempDir } from '../helpers/tmp.js';

// Records a log injector can make: huge, deep, wide, ill-formed Unicode,
// prototype-pollution keys. Each goes through the full sink (privacy
// pipeline → encode → ledger → checkpoint) and must be stored capped and
// marked within the documented caps (docs/format.md: 1 MiB entry, depth 64,
// 64 Ki-char strings), never crash the app and never pollute prototypes.

const MAX_ENTRY = 1024 * 1024;

function privacyConfig(dir: string) {
  const keyFile = join(dir, 'psn.key');
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  return {
    redact: {
      paths: ['user.password', '__proto__.polluted', 'constructor.prototype.polluted', 'a[*].secret'],
    },
    pseudonymize: { paths: ['user.email', '__proto__.email'], keys: [{ id: 'k1', file: keyFile }] },
    generalize: [{ path: 'client.ip', ip: {} }],
    scrub: { paths: ['msg'] },
  };
}

function deep(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

function meta(entry: Buffer): { coerced?: string[] } | undefined {
  return (JSON.parse(entry.toString('utf8')) as { _sealog?: { coerced?: string[] } })._sealog;
}

describe('oversized and malformed records through the full sink', () => {
  it('100k keys, depth 10k and a 50 MB string are stored capped and marked; memory stays bounded', async () => {
    const dir = tempDir();
    const path = join(dir, 'huge.db');
    const key = makeKey(dir);
    const errors: unknown[] = [];
    const sink = await openSink(
      { path, privacy: privacyConfig(dir), checkpoint: { keyFile: key.keyFile } },
      { onError: (e) => errors.push(e) },
    );
    const rss0 = process.memoryUsage().rss;
    const wide: Record<string, unknown> = { msg: 'wide' };
    for (let i = 0; i < 100_000; i++) wide[`key${i}`] = i;
    sink.write(wide);
    sink.write({ msg: 'deep', ...deep(10_000) });
    sink.write({ msg: 'x'.repeat(50 * 1024 * 1024) }); // scrubbed, then cut
    sink.write({ msg: 'big field', blob: 'y'.repeat(50 * 1024 * 1024) });
    sink.write({ msg: 'wide array', a: Array.from({ length: 200_000 }, (_, i) => ({ secret: i })) });
    sink.write({ msg: 'after', ok: true });
    await sink.close();
    const rssGrowth = process.memoryUsage().rss - rss0;

    expect(errors).toEqual([]);
    const reader = new LedgerReader(path);
    const rows = [...reader.records()];
    reader.close();
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r.entry.length).toBeLessThanOrEqual(MAX_ENTRY);
    expect(meta(rows[0]!.entry)?.coerced).toContain('entry-too-large');
    expect(meta(rows[1]!.entry)?.coerced).toContain('depth');
    expect(meta(rows[2]!.entry)?.coerced).toContain('string-too-long');
    expect(meta(rows[3]!.entry)?.coerced).toContain('string-too-long');
    expect(meta(rows[4]!.entry)?.coerced).toContain('entry-too-large');
    expect(JSON.parse(rows[5]!.entry.toString('utf8'))).toMatchObject({ msg: 'after', ok: true });
    expect(verifyLedger(path, { keys: [key.vkey], strict: true }).findings).toEqual([]);
    // Capped on disk too; memory: the inputs themselves are ~110 MB, the sink must not multiply them.
    expect(statSync(path).size).toBeLessThan(16 * 1024 * 1024);
    console.log(`hostile records: rss growth ${(rssGrowth / 1048576).toFixed(0)} MiB`);
    expect(rssGrowth).toBeLessThan(768 * 1024 * 1024);
  }, 120_000);

  it('lone surrogates are stored as well-formed UTF-8 and marked; keys too', async () => {
    const path = join(tempDir(), 'utf16.db');
    const sink = await openSink({ path });
    sink.write({ msg: 'hi \ud800 lo \udfff pair \ud83d\ude00', 'k\udc00': 1 });
    await sink.close();
    const reader = new LedgerReader(path);
    const [row] = [...reader.records()];
    reader.close();
    const text = row!.entry.toString('utf8');
    // The stored bytes round-trip: they are valid UTF-8 (no replacement hidden by the decoder).
    expect(Buffer.from(text, 'utf8').equals(row!.entry)).toBe(true);
    expect(meta(row!.entry)?.coerced).toContain('lone-surrogate');
    expect(text).toContain('\ud83d\ude00');
  });

  it('__proto__ and constructor.prototype keys are stored as data and never pollute Object.prototype', async () => {
    const dir = tempDir();
    const path = join(dir, 'proto.db');
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const sink = await openSink({ path, privacy: privacyConfig(dir) });
    const hostile = JSON.parse(
      '{"msg":"p","__proto__":{"polluted":"yes","email":"a@b.c"},"constructor":{"prototype":{"polluted":"yes"}},' +
        '"user":{"__proto__":{"polluted":"yes"},"email":"x@y.z"},"a":[{"__proto__":{"polluted":"yes"},"secret":1}]}',
    ) as Record<string, unknown>;
    sink.write(hostile);
    sink.write({ ...hostile });
    // Through encode alone, too.
    encodeRecord(hostile);
    await sink.close();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    const reader = new LedgerReader(path);
    const rows = [...reader.records()].map((r) => r.entry.toString('utf8'));
    reader.close();
    expect(rows).toHaveLength(2);
    // Kept as data (faithful record), with the configured redaction applied through the key.
    const stored = JSON.parse(rows[0]!);
    expect(Object.hasOwn(stored, '__proto__')).toBe(true);
    // JSON.parse makes `__proto__` an own data property; read it as one, not through the accessor.
    expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value).toMatchObject({
      polluted: '[Redacted]',
      email: expect.stringMatching(/^psn:k1:/),
    });
    expect(stored.constructor).toEqual({ prototype: { polluted: '[Redacted]' } });
    // not configured: kept as data
    expect(Object.getOwnPropertyDescriptor(stored.user, '__proto__')?.value).toEqual({ polluted: 'yes' });
    expect(rows[0]).not.toContain('a@b.c');
    expect(rows[0]).not.toContain('x@y.z');
  });
});
