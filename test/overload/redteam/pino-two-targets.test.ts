// Red team: pino `transport({ targets })` with two sealog targets. pino posts
// PINO_CONFIG once; transport.ts attaches its parentPort listener only after
// openSink() resolved and removes it on the first message, so a second target
// that opens later may never see the config and never resolves.
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PINO_TARGET, readVerified, tempDir } from '../../transport-helpers.js';

function end(transport: ReturnType<typeof pino.transport>, ms: number): Promise<'closed' | 'timeout'> {
  return new Promise((res) => {
    const t = setTimeout(() => res('timeout'), ms);
    transport.once('close', () => {
      clearTimeout(t);
      res('closed');
    });
    transport.end();
  });
}

describe('red team: pino targets and the PINO_CONFIG handshake', () => {
  it('two sealog targets: both start, both store every record', async () => {
    const dir = tempDir();
    const transport = pino.transport({
      targets: [
        { target: PINO_TARGET, options: { path: join(dir, 'a.db'), workers: 0 } },
        // a second ledger with privacy: its openSink takes longer than the first's
        {
          target: PINO_TARGET,
          options: {
            path: join(dir, 'b.db'),
            workers: 2,
            privacy: { redact: { paths: ['secret'] } },
          },
        },
      ],
    });
    const logger = pino({ customLevels: { audit: 35 } }, transport);
    for (let i = 0; i < 50; i++) (logger as pino.Logger<'audit'>).audit({ i, secret: 's' }, 'm');
    const how = await end(transport, 15_000);
    expect(how).toBe('closed');
    const a = readVerified(join(dir, 'a.db'));
    const b = readVerified(join(dir, 'b.db'));
    expect(a.length).toBe(50);
    expect(b.length).toBe(50);
    // custom level label reached both (PINO_CONFIG was seen by both)
    expect(a[0]?.levelLabel).toBe('audit');
    expect(b[0]?.levelLabel).toBe('audit');
  }, 40_000);

  it('sealog next to pino-pretty (expectPinoConfig): sealog still gets the config', async () => {
    const dir = tempDir();
    const transport = pino.transport({
      targets: [
        { target: 'pino-pretty', options: { destination: join(dir, 'pretty.log') } },
        { target: PINO_TARGET, options: { path: join(dir, 'a.db'), workers: 0 } },
      ],
    });
    const logger = pino({ customLevels: { audit: 35 } }, transport);
    for (let i = 0; i < 20; i++) (logger as pino.Logger<'audit'>).audit({ i }, 'm');
    const how = await end(transport, 15_000);
    expect(how).toBe('closed');
    const a = readVerified(join(dir, 'a.db'));
    expect(a.length).toBe(20);
    expect(a[0]?.levelLabel).toBe('audit');
  }, 40_000);
});
