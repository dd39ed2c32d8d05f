import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealogError } from '../errors.js';
import { encodeEntry, transformRecord } from '../prepare.js';
import { validatePrivacyConfig } from '../privacy/config.js';
import { createPrivacyPipeline } from '../privacy/pipeline.js';
import type { RecordTransform } from '../stages.js';
import { type LineDecoder, type PrepareSinkOptions, REFUSE_LINE } from './decoders.js';
import { PreparePool } from './pool.js';

// Issue 15, item 1: an entry's bytes must not depend on which thread prepared
// it. For any lines, cut into any batches, pools of 1, 2 and 4 workers return
// exactly the bytes and index times of the single-threaded
// encodeEntry(transformRecord(decode(line))) at the same receive time. The
// privacy config is deterministic (redact, keyed pseudonyms, generalize,
// scrub; noise is random and tested in pool.test.ts), and the encoder limits
// are small so truncation and depth marks cross the boundary too.

const WORKER = fileURLToPath(new URL('../../dist/pipeline/pool-worker.js', import.meta.url));
const DECODERS = new URL('./__tests__/decoders.mjs', import.meta.url).href;
const SIZES = [1, 2, 4];

let dir: string;
let sink: PrepareSinkOptions;
let decode: LineDecoder;
let transforms: RecordTransform[];
const pools: PreparePool[] = [];
const warnings: SealogError[] = [];

beforeAll(async () => {
  expect(existsSync(WORKER), 'build @sealog/core first (pnpm build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'sealog-pool-prop-'));
  const key = join(dir, 'psn.key');
  writeFileSync(key, Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 97 + 5) & 255)).toString('hex'), {
    mode: 0o600,
  });
  const privacy = validatePrivacyConfig({
    redact: { paths: ['user.password', 'req.headers.authorization'] },
    pseudonymize: { paths: ['user.id', 'user.email'], keys: [{ id: 'k1', file: key }], current: 'k1' },
    generalize: [
      { path: 'client.ip', ip: { v4Prefix: 24, v6Prefix: 48 } },
      { path: 'latencyMs', buckets: [0, 10, 100, 1000] },
      { path: 'when', time: 'hour' },
    ],
    scrub: { paths: ['msg'], replace: 'pseudonym' },
  });
  sink = { path: join(dir, 'unused.db'), privacy, maxDepth: 5, maxStringLength: 60, maxEntryBytes: 1024 };
  const factory = ((await import(DECODERS)) as { json: () => LineDecoder }).json;
  decode = factory();
  // What the sink builds (sink.ts openSink): the pipeline with the encoder's maxDepth.
  transforms = [createPrivacyPipeline(privacy, { maxDepth: sink.maxDepth })];
  for (const size of SIZES) {
    pools.push(
      await PreparePool.open({ size, decoder: { module: DECODERS, name: 'json', config: {} }, sink }, (e) =>
        warnings.push(e),
      ),
    );
  }
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** The single-threaded reference: one line at a time, on this thread. */
function reference(line: string, now: number): { entry: string; ts: number } | undefined {
  const record = decode(line, now);
  if (record === REFUSE_LINE) return undefined;
  const onError = (e: SealogError) => warnings.push(e);
  const limits = {
    maxDepth: sink.maxDepth,
    maxStringLength: sink.maxStringLength,
    maxEntryBytes: sink.maxEntryBytes,
  };
  const e = encodeEntry(transformRecord(record, transforms, onError), limits, now);
  return { entry: e.entry.toString('hex'), ts: e.ts };
}

const text = fc.oneof(
  fc.string({ maxLength: 90 }),
  fc.constantFrom(
    'mail a.b@example.com from 10.1.2.3',
    'card 4111 1111 1111 1111',
    'token sk_live_0123456789abcdef',
  ),
);
const recordLine = fc
  .record(
    {
      level: fc.constantFrom(10, 30, 50),
      time: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.constant('2026-12-02T12:00:00Z')),
      msg: text,
      user: fc.record(
        { id: fc.string(), email: fc.emailAddress(), password: fc.string() },
        { requiredKeys: [] },
      ),
      client: fc.record({ ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()) }),
      req: fc.record({ headers: fc.record({ authorization: fc.string() }) }),
      latencyMs: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double()),
      when: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      extra: fc.jsonValue({ maxDepth: 7 }),
    },
    { requiredKeys: [] },
  )
  .map((r) => JSON.stringify(r));
// Lines that are not JSON objects (kept by the decoder as unparsedLine); never a raw '\n'.
const oddLine = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  )
  .map((s) => s.replaceAll('\n', ' '));

describe('PreparePool property', () => {
  it('pools of 1, 2 and 4 workers produce the bytes of the single-threaded path', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 4, arbitrary: recordLine }, { weight: 1, arbitrary: oddLine }), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 4e12 }),
        async (lines, cuts, now) => {
          const batches: string[][] = [];
          for (let at = 0, k = 0; at < lines.length; k++) {
            const n = cuts[k % cuts.length]!;
            batches.push(lines.slice(at, at + n));
            at += n;
          }
          // Each batch has its own receive time, as the committer would give it.
          const expected = batches.flatMap((b, k) => b.map((l) => reference(l, now + k)));
          for (const pool of pools) {
            const got = await Promise.all(batches.map((b, k) => pool.prepare(b.join('\n'), now + k)));
            const entries = got.flatMap((b) =>
              [...b.lengths].map((n, i) => (n < 0 ? undefined : { ts: b.ts[i]! })),
            );
            const bytes = got.flatMap((b) => b.entries().map((e) => e.entry.toString('hex')));
            expect(entries.map((e) => e?.ts)).toEqual(expected.map((e) => e?.ts));
            expect(bytes).toEqual(expected.filter((e) => e !== undefined).map((e) => e.entry));
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(warnings).toEqual([]);
  });
});
