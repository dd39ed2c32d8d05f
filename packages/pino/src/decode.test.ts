import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LedgerReader, PreparePool, type SealogError } from '@sealog/core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PinoConfig } from './normalize.js';

// The pool's pino decoder must store what transport.ts stores for each line.
// The same raw lines go through a real pino worker thread running the built
// transport and through a prepare pool running the built decoder; the entries
// must match byte for byte, except the receive time of lines that carry none.
const TRANSPORT = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const DECODER = new URL('../dist/decode.js', import.meta.url);

let dir: string;
beforeAll(() => {
  expect(existsSync(fileURLToPath(DECODER)), 'build @sealog/pino first (pnpm build)').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'sealog-pdecode-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINES = [
  JSON.stringify({ level: 35, time: 1_700_000_000_001, message: 'custom level, messageKey' }),
  JSON.stringify({ level: 'audit', time: 1_700_000_000_002, message: 'label from formatters.level' }),
  JSON.stringify({ level: 30, time: 1_700_000_000_003, message: 'm', msg: 'msg already set' }),
  JSON.stringify({ level: 30, time: 1_700_000_000_004, levelLabel: 'mine', nested: { a: [1, { b: null }] } }),
  JSON.stringify({ level: 99, time: 1_700_000_000_005, __proto__: 'x' }),
  JSON.stringify({ level: 30, msg: 'no time: the receive time is added' }),
  'not json at all',
  '{"truncated": ',
  '',
  'null',
  '5',
  '"a string"',
  'true',
  '[1,{"a":2}]',
];

describe('pinoDecoder in the prepare pool', () => {
  it('stores what the pino transport stores for the same lines', async () => {
    const path = join(dir, 'audit.db');
    const transport = pino.transport({ target: TRANSPORT, options: { path } });
    // The logger sends its config (levels, messageKey) to the transport; its own lines are not used.
    const logger = pino({ customLevels: { audit: 35 }, messageKey: 'message' }, transport);
    for (const line of LINES) transport.write(`${line}\n`);
    await new Promise<void>((res) => {
      transport.once('close', () => res());
      transport.end();
    });
    const reader = new LedgerReader(path);
    const viaTransport = [...reader.records()].map((r) => r.entry.toString('utf8'));
    reader.close();

    const config: PinoConfig = { levels: logger.levels, messageKey: 'message' };
    const warnings: SealogError[] = [];
    const pool = await PreparePool.open(
      { size: 2, decoder: { module: DECODER.href, name: 'pinoDecoder', config }, sink: { path } },
      (e) => warnings.push(e),
    );
    const batches = await Promise.all([
      pool.prepare(LINES.slice(0, 5).join('\n')),
      pool.prepare(LINES.slice(5).join('\n')),
    ]);
    await pool.close();
    const viaPool = batches.flatMap((b) => b.entries().map((e) => e.entry.toString('utf8')));

    expect(warnings).toEqual([]);
    expect(viaPool).toHaveLength(LINES.length);
    expect(viaTransport).toHaveLength(LINES.length);
    const withoutTime = (s: string) => {
      const { time, ...rest } = JSON.parse(s);
      return { ...rest, time: typeof time };
    };
    for (let i = 0; i < LINES.length; i++) {
      if (i < 5) expect(viaPool[i]).toBe(viaTransport[i]);
      else expect(withoutTime(viaPool[i]!)).toEqual(withoutTime(viaTransport[i]!));
    }
    // The cases worth naming, as stored.
    expect(JSON.parse(viaPool[1]!)).toMatchObject({
      level: 35,
      levelLabel: 'audit',
      msg: 'label from formatters.level',
    });
    expect(withoutTime(viaPool[6]!)).toEqual({ unparsedLine: 'not json at all', time: 'number' });
    expect(withoutTime(viaPool[8]!)).toEqual({ unparsedLine: '', time: 'number' });
    expect(withoutTime(viaPool[9]!)).toEqual({ unparsedLine: 'null', time: 'number' });
    expect(withoutTime(viaPool[10]!)).toEqual({ data: 5, time: 'number' });
  });
});
