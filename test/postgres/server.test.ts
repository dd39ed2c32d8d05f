// The real PostgreSQL server of the test setup, and the helpers tests use to
// reach it, isolate themselves and simulate outages.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgUrl,
  psql,
  restartServer,
  sharedServer,
  startPrivateServer,
  terminateConnections,
} from '../helpers/postgres.js';

/** A connected client whose connection errors are recorded instead of crashing the run. */
async function connect(url: string): Promise<{ client: pg.Client; errors: Error[] }> {
  const client = new pg.Client({ connectionString: url });
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  await client.connect();
  return { client, errors };
}

describe('shared PostgreSQL test server', () => {
  it('is a real PostgreSQL server on the url the setup exported', async () => {
    const [row] = await psql<{ version: string; db: string }>(
      pgUrl(),
      'SELECT version() AS version, current_database() AS db',
    );
    expect(row?.version).toMatch(/^PostgreSQL \d+/);
    expect(row?.db).toBe(new URL(pgUrl()).pathname.slice(1));
  });

  it('hands tests the pg_ctl details of that same server, or says why it cannot', () => {
    // Only a server of the user's own (SEALOG_TEST_PG_URL without SEALOG_TEST_PG_CTL) lacks them.
    if (process.env.SEALOG_TEST_PG_CTL) {
      expect(sharedServer().port).toBe(Number(new URL(pgUrl()).port));
    } else {
      expect(() => sharedServer()).toThrow(/was not started by the test setup/);
    }
  });

  it('gives each createTestDatabase call its own empty database, which drop() removes', async () => {
    const a = await createTestDatabase('server-test a');
    const b = await createTestDatabase('server-test a');
    try {
      expect(a.name).not.toBe(b.name);
      await psql(a.url, 'CREATE TABLE only_in_a (n int); INSERT INTO only_in_a VALUES (1)');
      expect(await psql(a.url, 'SELECT n FROM only_in_a')).toEqual([{ n: 1 }]);
      expect(await psql(b.url, "SELECT to_regclass('only_in_a') AS t")).toEqual([{ t: null }]);
      expect(await psql(b.url, 'SELECT current_database() AS db')).toEqual([{ db: b.name }]);
    } finally {
      await b.drop();
    }
    await a.drop();
    const left = await psql(pgUrl(), 'SELECT datname FROM pg_database WHERE datname = ANY($1)', [
      [a.name, b.name],
    ]);
    expect(left).toEqual([]);
  });

  it('terminateConnections cuts only the connections to one database', async () => {
    const victim = await createTestDatabase('server-test victim');
    const bystander = await createTestDatabase('server-test bystander');
    const v = await connect(victim.url);
    const by = await connect(bystander.url);
    try {
      expect(await terminateConnections(victim.url)).toBe(1);
      await expect(v.client.query('SELECT 1')).rejects.toThrow();
      expect((await by.client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      expect(await psql(victim.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await v.client.end().catch(() => {});
      await by.client.end();
      await victim.drop();
      await bystander.drop();
    }
  });
});

describe('restartServer (on a private server, so parallel test files keep their connections)', () => {
  let server: Awaited<ReturnType<typeof startPrivateServer>>;
  beforeAll(async () => {
    server = await startPrivateServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs with fsync on and listens on 127.0.0.1 only', async () => {
    expect(await psql(server.url, 'SHOW fsync')).toEqual([{ fsync: 'on' }]);
    expect(await psql(server.url, 'SHOW listen_addresses')).toEqual([{ listen_addresses: '127.0.0.1' }]);
  });

  it('cuts open connections; new connections succeed and committed data survives', async () => {
    await psql(server.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    const old = await connect(server.url);
    const [before] = await psql<{ t: string }>(server.url, 'SELECT pg_postmaster_start_time()::text AS t');
    await restartServer(server.ctl);
    await expect(old.client.query('SELECT 1')).rejects.toThrow();
    await old.client.end().catch(() => {});
    const [after] = await psql<{ t: string }>(server.url, 'SELECT pg_postmaster_start_time()::text AS t');
    expect(after).not.toEqual(before);
    expect(await psql(server.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
  });
});
