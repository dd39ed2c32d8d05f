import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anchorTimestampsPath, type VerifyReport } from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { createTestPki, startTestTsa, type TestPki, type TestTsa } from '../helpers/tsa.js';
import type { Setup } from './harness.js';
import { downUrl, setupIn, writeStamped } from './verify-fixture.js';

// `sealog verify --tsa-anchor … --tsa required` (issue 16, item 2): the flags,
// the human report (TSA time beside the log's), and the stolen-key rewrite
// failing end to end, with the anchor's token file picked up beside --checkpoint.

let shared: string;
let pki: TestPki;
let tsa: TestTsa;
let honest: Setup;
/** The thief's rewrite with the honest log's key: no token of its own, the old ones copied in. */
let forged: string;

beforeAll(async () => {
  shared = mkdtempSync(join(tmpdir(), 'sealog-verify-tsa-cli-'));
  pki = await createTestPki();
  tsa = await startTestTsa(pki);
  honest = setupIn(shared, 'honest', pki);
  await writeStamped(honest, tsa.url);
  forged = join(shared, 'forged.db');
  await writeStamped(honest, await downUrl(pki), 6, forged, join(shared, 'forged-anchor.txt'));
  const db = new Database(forged);
  db.exec(`ATTACH '${honest.path}' AS h`);
  db.exec(
    'INSERT INTO checkpoint_timestamps (size, note_sha256, token, tsa_time, created_at) SELECT size, note_sha256, token, tsa_time, created_at FROM h.checkpoint_timestamps',
  );
  db.close();
}, 120_000);
afterAll(async () => {
  await tsa?.close();
  await pki?.dispose();
  if (shared) rmSync(shared, { recursive: true, force: true });
});

const keyArgs = () => honest.keys.flatMap((k) => ['--key', k]);

describe('sealog verify --tsa-anchor', () => {
  it('required, every checkpoint timestamped: exit 0, TSA time beside the log time', async () => {
    const r = await runCli([
      'verify',
      honest.path,
      ...keyArgs(),
      '--tsa-anchor',
      honest.caFile,
      '--tsa',
      'required',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/timestamps \(required\): (\d+) of \1 valid checkpoint\(s\) timestamped/);
    expect(r.out).toMatch(
      /checkpoint \d+ \(size 300\): timestamped by .*sealog test.* at \S+Z, the log says \S+Z/,
    );
    expect(r.out).toMatch(/OK: intact, every record covered by a valid checkpoint timestamped by/);
  });

  it('--json carries tsa, tsaTime and timestamped per checkpoint', async () => {
    const r = await runCli(['verify', honest.path, ...keyArgs(), '--tsa-anchor', honest.caFile, '--json']);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.out) as VerifyReport;
    expect(rep.tsa).toMatchObject({ mode: 'best-effort', stampedSize: 300 });
    expect(rep.checkpoints.every((c) => c.timestamped === true && typeof c.tsaTime === 'number')).toBe(true);
  });

  it('the stolen-key rewrite: exit 0 on the log key alone, exit 1 under --tsa required', async () => {
    const plain = await runCli(['verify', forged, ...keyArgs()]);
    expect(plain.code).toBe(0);
    const r = await runCli([
      'verify',
      forged,
      ...keyArgs(),
      '--tsa-anchor',
      honest.caFile,
      '--tsa',
      'required',
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no-checkpoint .*--tsa required.*await a trusted timestamp/);
    expect(r.out).toMatch(/orphan-timestamp/);
    expect(r.out).toMatch(/FAILED: 1 problem found/);
  });

  it("the anchor's token file beside --checkpoint is read; --timestamps adds one", async () => {
    const r = await runCli([
      'verify',
      forged,
      ...keyArgs(),
      '--checkpoint',
      honest.anchor,
      '--tsa-anchor',
      honest.caFile,
      '--json',
    ]);
    expect(r.code).toBe(1); // the honest anchor shows the rewrite anyway
    const rep = JSON.parse(r.out) as VerifyReport;
    // The honest anchor's notes and tokens (from anchor.txt.timestamps) match each other.
    expect(rep.checkpoints.filter((c) => c.source === 'trusted').every((c) => c.timestamped)).toBe(true);
    const extra = await runCli([
      'verify',
      honest.path,
      ...keyArgs(),
      '--tsa-anchor',
      honest.caFile,
      '--timestamps',
      anchorTimestampsPath(honest.anchor),
      '--json',
    ]);
    expect(extra.code).toBe(0);
  });

  it('usage errors: a TSA flag without --tsa-anchor, a bad mode, a missing or PEM-less anchor file', async () => {
    const noPem = join(shared, 'not.pem');
    writeFileSync(noPem, 'hello\n');
    const cases: [string[], RegExp][] = [
      [['--tsa', 'required'], /--tsa needs --tsa-anchor/],
      [['--timestamps', 'x'], /--timestamps needs --tsa-anchor/],
      [['--tsa-anchor', honest.caFile, '--tsa', 'always'], /--tsa must be best-effort or required/],
      [['--tsa-anchor', join(shared, 'missing.pem')], /cannot read TSA anchor file .*no such file/],
      [['--tsa-anchor', noPem], /holds no PEM certificate/],
      [['--tsa-anchor', honest.caFile, '--tsa-policy', 'abc'], /not a dotted OID/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(['verify', honest.path, ...keyArgs(), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
    }
    const chain = await runCli(['verify', honest.path, '--chain-only', '--tsa-anchor', honest.caFile]);
    expect(chain.code).toBe(2);
  });
});
