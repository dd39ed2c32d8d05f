import { describe, expect, it } from 'vitest';
import { isSealogError } from '../../errors.js';
import { loadPg } from './connect.js';

// pg is an optional peer dependency of @sealog/core: only a postgres:// ledger loads it.
describe('loadPg', () => {
  it('names pg and the install command when pg is not installed', async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg' imported from /app/connect.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const err = await loadPg(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(isSealogError(err) && err.code).toBe('E_CONFIG');
    expect((err as Error).message).toMatch(/need the pg package, which is not installed: run npm install pg/);
    expect((err as Error).cause).toBe(missing);
  });

  it('passes on any other failure unchanged (a missing dependency of pg is not a missing pg)', async () => {
    const other = Object.assign(
      new Error("Cannot find package 'pg-protocol' imported from /pg/lib/index.js"),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    await expect(loadPg(() => Promise.reject(other))).rejects.toBe(other);
  });

  it('loads the installed driver', async () => {
    const pg = await loadPg();
    expect(typeof pg.Client).toBe('function');
    expect(pg.types.builtins.INT8).toBe(20);
  });
});
