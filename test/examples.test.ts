// Every example app runs as a child process exactly as a user would run it;
// its ledger must then hold the records and verify.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey } from '../packages/core/src/index.js';
import { ROOT, readVerified, runNode, tempDir } from './transport-helpers.js';

const CLI = join(ROOT, 'packages/cli/dist/bin.js');

/** A temp dir holding audit.key, as `sealog keygen` would write it; returns the verifier keys too. */
function keyedDir(name: string): { dir: string; vkeys: string[] } {
  const dir = tempDir();
  const key = generateKey(`example.test/${name}`);
  writeFileSync(join(dir, 'audit.key'), `${key.privateKey}\n`, { mode: 0o600 });
  return { dir, vkeys: [key.verifierKey, key.cosignerVerifierKey] };
}

/**
 * Our own chain recomputation, then `sealog verify --strict`: every record is
 * intact and the final checkpoint written on close covers all of them.
 */
function verified(dir: string, vkeys: string[]): Record<string, unknown>[] {
  const path = join(dir, 'audit.db');
  const records = readVerified(path);
  const args = [CLI, 'verify', path, '--strict', ...vkeys.flatMap((k) => ['--key', k])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return records;
}

async function runExample(name: string) {
  const { dir, vkeys } = keyedDir(name);
  const cwd = join(ROOT, 'examples', name);
  const res = await runNode(join(cwd, 'app.mjs'), [dir], undefined, cwd);
  expect(res.code, res.stderr).toBe(0);
  return { dir, res, records: verified(dir, vkeys) };
}

describe('examples', () => {
  it('pino-basic', async () => {
    const { records } = await runExample('pino-basic');
    expect(records.map((r) => r.msg)).toEqual(['user logged in', 'large export', 'export failed']);
    expect(records[2]).toMatchObject({ levelLabel: 'error', err: { message: 'quota exceeded' } });
  });

  it('pino-multi: the ledger gets info and above, the file gets everything', async () => {
    const { dir, records } = await runExample('pino-multi');
    expect(records).toHaveLength(11);
    expect(records.map((r) => r.order)).toEqual([...Array(10).keys(), 3]);
    expect(readFileSync(join(dir, 'app.log'), 'utf8').trim().split('\n')).toHaveLength(12);
    expect(readFileSync(join(dir, 'pretty.log'), 'utf8')).toContain('payment declined');
  });

  it('pino-http: requests are sealed and SIGTERM with the documented handler loses nothing', async () => {
    const { dir, vkeys } = keyedDir('pino-http');
    const app = join(ROOT, 'examples/pino-http/app.mjs');
    let requests: Promise<void> | undefined;
    const res = await runNode(app, [dir, '0'], (chunk, child) => {
      const m = /listening (\d+)/.exec(chunk);
      if (!m || requests) return;
      requests = (async () => {
        for (const p of ['/', '/a', '/missing']) await (await fetch(`http://127.0.0.1:${m[1]}${p}`)).text();
        child.kill('SIGTERM');
      })();
    });
    await requests;
    expect(res.code, res.stderr).toBe(0);
    const records = verified(dir, vkeys);
    expect(records.map((r) => r.msg)).toEqual([
      'listening',
      'request completed',
      'request completed',
      'request completed',
      'shutting down',
    ]);
    expect(records.slice(1, 4).map((r) => [r.url, r.status])).toEqual([
      ['/', 200],
      ['/a', 200],
      ['/missing', 404],
    ]);
  });

  it('winston-console-file', async () => {
    const { dir, res, records } = await runExample('winston-console-file');
    expect(records.map((r) => r.message)).toEqual(['user logged in', 'large export', 'export failed']);
    expect(res.stdout).toContain('info: user logged in');
    expect(readFileSync(join(dir, 'app.log'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('winston-formats', async () => {
    const { records } = await runExample('winston-formats');
    expect(records).toHaveLength(4);
    expect(records[0]).toMatchObject({
      level: 'info',
      message: 'invoice INV-7 issued for 120 EUR',
      customer: 'c-9',
      service: 'billing',
    });
    expect(String(records[2]!.stack)).toContain('Error: card declined');
    expect(records[3]).toMatchObject({ level: 'warn', requestId: 'r-1' });
  });
});
