import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateKey,
  parseVerifierKey,
  verifyLedger,
  verifyWitnessCosignatures,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { writeRecords } from '../helpers/sink-rounds.js';
import { tempDir } from '../helpers/tmp.js';
import { type Running, serveWitness, witnessConfig } from './harness.js';

// `sealog checkpoint --config` (issue 16): the one-shot seal sends its note to
// the witnesses of the transports' `checkpoint` option and waits, within the
// timeout, for the cosignature before it prints the note as stored.

const ORIGIN = 'oneshot.example/log';
let witness: Running | undefined;
afterEach(async () => {
  await witness?.stop();
  witness = undefined;
});

async function ledger() {
  const dir = tempDir();
  const k = generateKey(ORIGIN);
  const keyFile = join(dir, 'log.key');
  writeKeyFile(keyFile, k.privateKey);
  const path = join(dir, 'audit.db');
  await writeRecords({ path }, 2, []);
  return { dir, keyFile, path, logKey: k.verifierKey, anchor: join(dir, 'anchor.txt') };
}

/** A loopback port nothing listens on. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address() as { port: number };
  await new Promise((ok) => s.close(ok));
  return `http://127.0.0.1:${port}/`;
}

describe('sealog checkpoint --config', () => {
  it('sends the checkpoint to the witnesses and prints the cosigned note; verify then meets the quorum', async () => {
    const t = await ledger();
    const w = await witnessConfig(t.dir, [{ origin: ORIGIN, key: t.logKey }]);
    witness = await serveWitness(w.config);
    const config = join(t.dir, 'checkpoint.json');
    writeFileSync(
      config,
      JSON.stringify({
        keyFile: t.keyFile,
        anchorFile: t.anchor,
        witnesses: [{ url: witness.url, key: w.verifierKey }],
      }),
    );
    const r = await runCli(['checkpoint', t.path, '--config', config]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/1 of 1 witness\(es\) cosigned/);
    expect(verifyWitnessCosignatures(r.out, [parseVerifierKey(w.verifierKey)], 1).quorumMet).toBe(true);
    const v = verifyLedger(t.path, { keys: [t.logKey], witnesses: [w.verifierKey], strict: true });
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.sealed).toBe(100);
  });

  it('a witness that is down costs the cosignature only: the checkpoint is stored and the command says so', async () => {
    const t = await ledger();
    const w = await witnessConfig(t.dir, [{ origin: ORIGIN, key: t.logKey }]); // its key; never started
    const config = join(t.dir, 'checkpoint.json');
    writeFileSync(
      config,
      JSON.stringify({
        keyFile: t.keyFile,
        witnesses: [{ url: await deadUrl(), key: w.verifierKey }],
        witnessTimeoutMs: 500,
      }),
    );
    const r = await runCli(['checkpoint', t.path, '--config', config]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/0 of 1 witness\(es\) cosigned/);
    const v = verifyLedger(t.path, { keys: [t.logKey], strict: true });
    expect(v.ok).toBe(true);
    expect(v.sealed).toBe(100);
  });

  it('a bad config is a usage error naming the field; --config with --key is refused', async () => {
    const t = await ledger();
    const config = join(t.dir, 'checkpoint.json');
    writeFileSync(config, JSON.stringify({ keyFile: t.keyFile, anchorFle: 'x' }));
    const r = await runCli(['checkpoint', t.path, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/checkpoint\.anchorFle.*anchorFile/);
    const both = await runCli(['checkpoint', t.path, '--config', config, '--key', t.keyFile]);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--config alone/);
    writeFileSync(config, '{ not json');
    expect((await runCli(['checkpoint', t.path, '--config', config])).err).toMatch(/not JSON/);
  });
});
