// Vitest global setup: one real PostgreSQL server for the whole run, so the
// PostgreSQL ledger backend (#10) is tested against the real thing, never a
// mock. Tests reach it through test/helpers/postgres.ts. Set SEALOG_TEST_PG_URL
// to use a server of your own instead; then nothing is started here.
//
// Worker processes inherit process.env as it is after this setup, which is
// how SEALOG_TEST_PG_URL / SEALOG_TEST_PG_CTL reach tests and their children.
import type { TestProject } from 'vitest/node';
import { createCluster, destroyCluster, type PgCtl, stopClusterSync } from '../helpers/pg-cluster.js';

const DATABASE = 'sealog_test';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.SEALOG_TEST_PG_URL;
  if (given) {
    project.provide('pgUrl', given);
    project.provide('pgCtl', process.env.SEALOG_TEST_PG_CTL ?? '');
    return undefined;
  }
  const { ctl, url } = await createCluster(DATABASE);
  // If vitest dies without running the teardown, still stop the server and
  // remove its directory: pg_ctl detaches it, so nothing else would.
  const onExit = (): void => stopClusterSync(ctl);
  process.once('exit', onExit);
  const ctlJson = JSON.stringify(ctl satisfies PgCtl);
  process.env.SEALOG_TEST_PG_URL = url;
  process.env.SEALOG_TEST_PG_CTL = ctlJson;
  project.provide('pgUrl', url);
  project.provide('pgCtl', ctlJson);
  return async () => {
    process.off('exit', onExit);
    delete process.env.SEALOG_TEST_PG_URL;
    delete process.env.SEALOG_TEST_PG_CTL;
    await destroyCluster(ctl);
  };
}
