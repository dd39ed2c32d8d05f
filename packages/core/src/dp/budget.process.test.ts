import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../../test/helpers/node-script.js';
import { SqliteStore } from '../store/sqlite.js';

// Two OS processes noise records of the same unit into one ledger file at the
// same time. They run the built package (dist/), which `pnpm test` builds first.
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist');

const child = (file: string, n: number) => `
import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(dist, 'store/sqlite.js')).href)};
import { createNoiseTransform, validateNoiseConfig } from ${JSON.stringify(pathToFileURL(path.join(dist, 'dp/index.js')).href)};
const store = new SqliteStore(${JSON.stringify(file)}, { busyTimeoutMs: 20000 });
const cfg = validateNoiseConfig({ unit: 'u', budget: { epsilon: 4, windowSeconds: 86400 },
  fields: { m: { mechanism: 'laplace', epsilon: 0.25, lower: 0, upper: 10, granularity: 1 } } });
const t = createNoiseTransform(cfg, { db: store.db, now: () => 0 });
let noised = 0;
for (let i = 0; i < ${n}; i++) if (t.apply({ u: 'psn:k:shared', m: 5 }).m.dp === 'laplace') noised++;
t.close();
store.close();
process.stdout.write(String(noised));
`;

// Reservations across processes. Each of three processes first noises one
// record of each of 30 units (covered by its reservation, not written back:
// leases are evicted into the pending batch and settled only on close), waits
// for the others, then spends all it can on its own 10 units. The owner of a
// unit must leave room for what the other two spent there without writing it.
const batchedChild = (file: string, dir: string, k: number) => `
import fs from 'node:fs';
import { SqliteStore } from ${JSON.stringify(pathToFileURL(path.join(dist, 'store/sqlite.js')).href)};
import { createNoiseTransform, validateNoiseConfig } from ${JSON.stringify(pathToFileURL(path.join(dist, 'dp/index.js')).href)};
const store = new SqliteStore(${JSON.stringify(file)}, { busyTimeoutMs: 20000 });
const cfg = validateNoiseConfig({ unit: 'u', budget: { epsilon: 4, windowSeconds: 86400, maxUnits: 8 },
  fields: { m: { mechanism: 'laplace', epsilon: 0.25, lower: 0, upper: 10, granularity: 1 } } });
const t = createNoiseTransform(cfg, { db: store.db, now: () => 0 });
const noised = {};
const apply = (u) => { if (t.apply({ u, m: 5 }).m.dp === 'laplace') noised[u] = (noised[u] ?? 0) + 1; };
for (let i = 0; i < 30; i++) apply('psn:k:u' + i);
fs.writeFileSync(${JSON.stringify(dir)} + '/ready-${k}', '');
while ([0, 1, 2].some((j) => !fs.existsSync(${JSON.stringify(dir)} + '/ready-' + j)))
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
for (let i = ${k}; i < 30; i += 3) for (let r = 0; r < 20; r++) apply('psn:k:u' + i);
t.close();
store.close();
process.stdout.write(JSON.stringify(noised));
`;

function run(script: string): Promise<number> {
  return runScript(script).then(Number);
}

describe('budget shared by processes', () => {
  it('two concurrent writer processes together spend exactly one budget', async () => {
    expect(fs.existsSync(path.join(dist, 'dp/index.js')), 'build @sealog/core first (turbo run build)').toBe(
      true,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    try {
      const file = path.join(dir, 'audit.db');
      new SqliteStore(file).close(); // create the ledger before the race
      const [a, b] = await Promise.all([run(child(file, 200)), run(child(file, 200))]);
      // 4 / 0.25 = 16 records in total, whoever gets them.
      expect(a + b).toBe(16);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('three writer processes using reservations (batched write-backs) together spend exactly each budget', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealog-'));
    try {
      const file = path.join(dir, 'audit.db');
      new SqliteStore(file).close();
      const outs = await Promise.all([0, 1, 2].map((k) => runScript(batchedChild(file, dir, k))));
      const total = new Map<string, number>();
      for (const o of outs)
        for (const [u, n] of Object.entries(JSON.parse(o) as Record<string, number>))
          total.set(u, (total.get(u) ?? 0) + n);
      // 4 / 0.25 = 16 records per unit: 3 in the first pass, 13 for its owner.
      expect(total.size).toBe(30);
      for (const [u, n] of total) expect(n, u).toBe(16);
      const s = new SqliteStore(file);
      const rows = s.db.prepare('SELECT spent FROM dp_budget').pluck().all();
      expect(rows).toEqual(Array.from({ length: 30 }, () => 4_000_000));
      expect(s.db.prepare('SELECT count(*) FROM dp_reserve').pluck().get()).toBe(0);
      s.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
