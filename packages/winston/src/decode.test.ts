import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPrivacyPipeline,
  PreparePool,
  REFUSE_LINE,
  type SealogError,
  validatePrivacyConfig,
} from '@sealog/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The reference is core's own per-record step (not exported from the package).
import { encodeEntry, transformRecord } from '../../core/src/prepare.js';
import { winstonDecoder } from './decode.js';
import { type CopyState, recordFromInfo } from './record.js';
import { encodeLine } from './wire.js';

// The pool's winston decoder must store what worker.ts stores for each line:
// decodeLine, then the sink's transforms and encoder, and a line that does not
// decode is refused (not stored, counted). Pool workers import the built decoder.
const DECODER = new URL('../dist/decode.js', import.meta.url);

let dir: string;
let pool: PreparePool;
const warnings: SealogError[] = [];
const privacy = validatePrivacyConfig({
  redact: { paths: ['secret'] },
  scrub: { paths: ['message'], kinds: ['email', 'ip'] },
});
const limits = { maxDepth: 4, maxStringLength: 200 };
// What the sink builds for these options (sink.ts openSink).
const transform = createPrivacyPipeline(privacy, { maxDepth: limits.maxDepth });

beforeAll(async () => {
  expect(existsSync(fileURLToPath(DECODER)), 'build @sealog/winston first (pnpm build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'sealog-wdecode-'));
  writeFileSync(join(dir, 'unused.db'), '');
  pool = await PreparePool.open(
    {
      size: 2,
      decoder: { module: DECODER.href, name: 'winstonDecoder', config: null },
      sink: { path: join(dir, 'unused.db'), privacy, ...limits },
    },
    (e) => warnings.push(e),
  );
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** worker.ts's per-line step on this thread (decodeLine, Sink.write, Ledger.write); undefined when refused. */
function inThread(line: string, now: number): string | undefined {
  const record = winstonDecoder()(line, now);
  if (record === REFUSE_LINE) return undefined;
  return encodeEntry(
    transformRecord(record, [transform], (e) => warnings.push(e)),
    limits,
    now,
  ).entry.toString();
}

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
    fc.constantFrom(Number.NaN, -0, Symbol('s'), () => 1, new Date(Number.NaN), new Error('e a@b.co')),
    fc.constantFrom('mail a@b.co', '10.0.0.1'),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }),
  ),
}));

const line = fc
  .dictionary(fc.constantFrom('message', 'secret', 'meta', 'level', 'x'), value.node)
  .map((info) => {
    const state: CopyState = { plain: true };
    const record = recordFromInfo(info, state);
    return encodeLine(record, state.plain, limits.maxDepth);
  });

describe('winstonDecoder in the prepare pool', () => {
  it('property: stores the bytes worker.ts stores for every wire line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 30 }), async (lines) => {
        const batch = await pool.prepare(lines.join('\n'), 1234);
        expect(batch.refused).toBe(0);
        const stored = batch.entries().map((e) => e.entry.toString('utf8'));
        expect(stored).toEqual(lines.map((l) => inThread(l, 1234)));
      }),
      { numRuns: 100 },
    );
    expect(warnings).toEqual([]);
  });

  it('refuses a line that does not decode, as worker.ts does, and reports nothing itself', async () => {
    const good = encodeLine({ message: 'ok' }, true);
    const batch = await pool.prepare([good, '{not json', '~{"\\u0000":["b","x"]}', good].join('\n'), 7);
    expect([...batch.lengths].map(Math.sign)).toEqual([1, -1, -1, 1]);
    expect(batch.refused).toBe(2);
    expect(batch.entries().map((e) => e.entry.toString())).toEqual([
      '{"message":"ok","time":7}',
      '{"message":"ok","time":7}',
    ]);
    expect(warnings).toEqual([]); // the caller reports "N record(s) arrived unreadable"
  });
});
