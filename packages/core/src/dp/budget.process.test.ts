import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
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

function run(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('close', (code) =>
      code === 0 ? resolve(Number(out)) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
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
});
