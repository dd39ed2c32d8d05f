import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LedgerReader } from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { PINO_TARGET } from '../transport-helpers.js';

// Bytes a real pino worker thread can receive: raw invalid UTF-8, a line that
// is not JSON, JSON with __proto__ keys, a deep object. The worker must store
// each (decoded, marked or wrapped), keep running, and keep the ledger valid.
// Needs `npx turbo run build` (the worker imports packages/pino/dist).

function end(t: ReturnType<typeof pino.transport>): Promise<void> {
  return new Promise((resolve) => {
    t.once('close', () => resolve());
    t.end();
  });
}

describe('hostile bytes through a real pino transport', () => {
  it('stores invalid UTF-8, non-JSON and __proto__ lines as data, in order, as valid UTF-8', async () => {
    const path = join(tempDir(), 'pino.db');
    const transport = pino.transport({ target: PINO_TARGET, options: { path } });
    const logger = pino({ base: undefined }, transport);
    logger.info({ i: 0 }, 'first');
    // Straight onto the worker's stream, as a broken upstream writer would.
    transport.write(
      Buffer.from([
        ...Buffer.from('{"i":1,"msg":"bad '),
        0xff,
        0xfe,
        0xc0,
        0x80,
        0xed,
        0xa0,
        0x80,
        ...Buffer.from('"}\n'),
      ]),
    );
    transport.write(Buffer.from([0x80, 0x81, 0x0a]));
    transport.write(
      '{"i":3,"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}\n',
    );
    let deep = '{"leaf":1}';
    for (let d = 0; d < 5000; d++) deep = `{"a":${deep}}`;
    transport.write(`{"i":4,"deep":${deep}}\n`);
    logger.info({ i: 5 }, 'last');
    await end(transport);

    const reader = new LedgerReader(path);
    const rows = [...reader.records()];
    reader.close();
    expect(rows).toHaveLength(6);
    for (const r of rows) {
      const text = r.entry.toString('utf8');
      // What was stored is well-formed UTF-8 (decoding and re-encoding gives the same bytes).
      expect(Buffer.from(text, 'utf8').equals(r.entry)).toBe(true);
    }
    const all = rows.map((r) => JSON.parse(r.entry.toString('utf8')) as Record<string, unknown>);
    // The non-JSON line is kept, not dropped, in the place it arrived.
    expect(all.map((r) => ('unparsedLine' in r ? 'unparsed' : r.i))).toEqual([0, 1, 'unparsed', 3, 4, 5]);
    expect(String(all[2]!.unparsedLine)).toContain('\ufffd');
    const recs = all.filter((r) => !('unparsedLine' in r));
    expect(recs[0]).toMatchObject({ i: 0, msg: 'first' });
    expect(String(recs[1]!.msg)).toContain('\ufffd');
    expect(Object.hasOwn(recs[2]!, '__proto__')).toBe(true);
    expect(recs[3]).toMatchObject({ i: 4, _sealog: { coerced: ['depth'] } });
    expect(recs[4]).toMatchObject({ i: 5, msg: 'last' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 30_000);
});
