import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { PINO_TARGET, WINSTON_DIST } from '../transport-helpers.js';
import { WriterProcess } from './harness.js';

// Finding 10 of issue 14: options were "validated in full" but `maxDepth: 'x'`
// or `maxEntryBytes: 'big'` passed and silently disabled the caps. Each bad
// value must stop a real writer at startup, before the ledger file exists,
// with E_CONFIG naming the field and what was given.

const BAD: [Record<string, unknown>, RegExp][] = [
  [{ maxDepth: 'x' }, /option "maxDepth" must be an integer from 1 to 1000, got "x"/],
  [{ maxEntryBytes: 'big' }, /option "maxEntryBytes" must be an integer .*, got "big"/],
  [{ maxStringLength: '10' }, /option "maxStringLength" must be an integer .*, got "10"/],
  [{ maxDepth: 1e9 }, /option "maxDepth" must be an integer from 1 to 1000, got 1000000000/],
  [{ maxEntryBytes: -1 }, /option "maxEntryBytes" must be an integer .*, got -1/],
  [{ maxStringLength: 0.5 }, /option "maxStringLength" must be an integer .*, got 0.5/],
  [{ batchDelayMs: 'soon' }, /option "batchDelayMs" must be a number of milliseconds .*, got "soon"/],
  [{ busyTimeoutMs: -5 }, /option "busyTimeoutMs" must be a number of milliseconds .*, got -5/],
  [{ durability: 'disk' }, /option "durability" must be "process" or "power", got "disk"/],
  [{ maxDeph: 5 }, /unknown sealog option "maxDeph"; did you mean "maxDepth"\?/],
  [{ checkpoint: { keyFile: 'a.key', everyRecord: 5 } }, /did you mean "everyRecords"\?/],
  [
    { privacy: { redact: { path: ['a'] } } },
    /privacy\.redact\.path .*did you mean "privacy\.redact\.paths"\?/,
  ],
];

describe('attack: options that silently disable the caps', () => {
  it('a real writer refuses each at startup with the field named, and creates no file', async () => {
    for (const [bad, message] of BAD) {
      const dir = tempDir();
      const w = new WriterProcess({ path: join(dir, 'audit.db'), ...bad });
      // A writer that started anyway is killed, and the test fails on it.
      if (
        await w.ready().then(
          () => true,
          () => false,
        )
      )
        w.kill();
      expect(w.out, `${JSON.stringify(bad)} was accepted`).not.toContain('ready');
      expect(await w.exited, JSON.stringify(bad)).toBe(3);
      expect(w.err, JSON.stringify(bad)).toMatch(/^open-failed E_CONFIG /);
      expect(w.err, JSON.stringify(bad)).toMatch(message);
      expect(existsSync(join(dir, 'audit.db'))).toBe(false);
    }
  });

  it('the pino transport fails at startup with the field named', async () => {
    const dir = tempDir();
    const transport = pino.transport({
      target: PINO_TARGET,
      options: { path: join(dir, 'a.db'), maxDepth: 'x' },
    });
    const err = await new Promise<Error | string>((res) => {
      transport.once('error', res);
      setTimeout(() => res('the transport started: no error in 10 s'), 10_000).unref();
    });
    if (typeof err === 'string') transport.end();
    expect(typeof err === 'string' ? err : err.message).toMatch(
      /^sealog E_CONFIG: option "maxDepth" must be an integer from 1 to 1000, got "x"/,
    );
    expect(existsSync(join(dir, 'a.db'))).toBe(false);
  });

  it('the winston transport throws at construction with the field named', async () => {
    const { SealogTransport } = (await import(
      WINSTON_DIST
    )) as typeof import('../../packages/winston/src/index.js');
    const dir = tempDir();
    expect(() => new SealogTransport({ path: join(dir, 'w.db'), maxEntryBytes: 'big' })).toThrow(
      /option "maxEntryBytes" must be an integer .*, got "big"/,
    );
    expect(existsSync(join(dir, 'w.db'))).toBe(false);
  });
});
