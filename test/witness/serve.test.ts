import { afterEach, describe, expect, it } from 'vitest';
import {
  addCheckpoint,
  formatAddCheckpointRequest,
  generateKey,
  mergeCosignatures,
  openCheckpoint,
  parseNote,
  verifyWitnessCosignatures,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { post, type Running, serveWitness, storedHead, witnessConfig } from './harness.js';
import { sealedLedger } from './ledger.js';

const ORIGIN = 'audit.example/billing';
const running: Running[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function start(config: string): Promise<Running> {
  const r = await serveWitness(config);
  running.push(r);
  return r;
}

describe('sealog witness serve (real process, loopback)', () => {
  it('cosigns a real ledger’s checkpoints submitted in order; each refusal gets the spec status and changes nothing', async () => {
    const dir = tempDir();
    const ledger = await sealedLedger(dir, 'billing.db', ORIGIN);
    const { config, stateFile, verifierKey } = await witnessConfig(dir, [
      { origin: ORIGIN, key: ledger.logKey },
    ]);
    const w = await start(config);

    // In order: 0 → 4 → 10 → 25, each with the consistency proof from the last cosigned size.
    let old = 0;
    let note = '';
    for (const n of [4, 6, 15]) {
      note = await ledger.grow(n);
      const size = openCheckpoint(note, [ledger.logKey]).checkpoint.size;
      const r = await addCheckpoint(
        w.url,
        { oldSize: old, proof: ledger.proof(old, size), note },
        { timeoutMs: 10_000 },
      );
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      const cosigned = mergeCosignatures(note, r.lines);
      const q = verifyWitnessCosignatures(cosigned, [verifierKey], 1);
      expect(q.quorumMet).toBe(true);
      expect(q.cosigned[0]!.time).toBeGreaterThan(1_700_000_000);
      expect(storedHead(stateFile, ORIGIN)?.size).toBe(size);
      old = size;
    }
    expect(old).toBe(25);
    const before = storedHead(stateFile, ORIGIN);
    const unchanged = (what: string) => expect(storedHead(stateFile, ORIGIN), what).toEqual(before);

    const next = await ledger.grow(5); // size 30, the honest next checkpoint
    const nextBody = (oldSize: number, proof: Uint8Array[], n = next) =>
      formatAddCheckpointRequest({ oldSize, proof, note: n });

    // Stale old size: 409, text/x.tlog.size, the witness's size.
    const stale = await post(w.url, '/add-checkpoint', nextBody(10, ledger.proof(10, 30)));
    expect(stale).toEqual({ status: 409, contentType: 'text/x.tlog.size', body: '25\n' });
    unchanged('stale');
    // Bad consistency proof: 422.
    const wrongProof = ledger.proof(24, 30);
    expect((await post(w.url, '/add-checkpoint', nextBody(25, wrongProof))).status).toBe(422);
    unchanged('bad proof');
    // Old size above the checkpoint size: 400.
    expect((await post(w.url, '/add-checkpoint', nextBody(31, []))).status).toBe(400);
    unchanged('old > size');
    // Unknown log: 404.
    const strangerDir = tempDir();
    const stranger = await sealedLedger(strangerDir, 's.db', 'stranger.example/log');
    const strangerNote = await stranger.grow(3);
    expect((await post(w.url, '/add-checkpoint', nextBody(0, [], strangerNote))).status).toBe(404);
    // Known origin, but signed by a key the witness does not trust: 403.
    const impostorKey = generateKey(ORIGIN);
    const impostorFile = `${strangerDir}/impostor.key`;
    writeKeyFile(impostorFile, impostorKey.privateKey);
    const impostor = await sealedLedger(strangerDir, 'impostor.db', ORIGIN, impostorFile);
    for (let i = 0; i < 6; i++) await impostor.grow(5);
    const impostorNote = await impostor.grow(5); // size 35
    expect(
      (await post(w.url, '/add-checkpoint', nextBody(25, impostor.proof(25, 35), impostorNote))).status,
    ).toBe(403);
    // A trusted signature line that does not verify: 403 (signed-note: the note is malformed).
    const lines = next.split('\n');
    const i = lines.findIndex((l) => l.startsWith(`— ${ORIGIN} `));
    const sig = Buffer.from(lines[i]!.slice(lines[i]!.lastIndexOf(' ') + 1), 'base64');
    sig[40]! ^= 1; // inside the Ed25519 signature, after the 4-byte key ID
    lines[i] = `— ${ORIGIN} ${sig.toString('base64')}`;
    expect(
      (await post(w.url, '/add-checkpoint', nextBody(25, ledger.proof(25, 30), lines.join('\n')))).status,
    ).toBe(403);
    unchanged('bad signatures');
    // Malformed note: 400. Oversize body: 413, nothing read past the limit.
    expect((await post(w.url, '/add-checkpoint', Buffer.from('old 25\n\nnot a note\n'))).status).toBe(400);
    const huge = Buffer.concat([Buffer.from('old 25\n\n'), Buffer.alloc(200 * 1024, 0x41)]);
    const over = await post(w.url, '/add-checkpoint', huge).catch((err: Error) => ({
      status: -1,
      body: err.message,
    }));
    expect([413, -1]).toContain(over.status); // 413, or the socket closed while we were still sending
    unchanged('malformed and oversize');
    // Wrong method / path.
    expect((await post(w.url, '/add-checkpointx', Buffer.from(''))).status).toBe(404);

    // Still serving, and the honest next checkpoint goes through.
    const ok = await addCheckpoint(w.url, { oldSize: 25, proof: ledger.proof(25, 30), note: next });
    expect(ok.ok).toBe(true);
    expect(storedHead(stateFile, ORIGIN)?.size).toBe(30);
    // The monitoring endpoint serves the cosigned checkpoint.
    const stopped = await w.stop();
    running.splice(0);
    expect(stopped).toBe(0);
    expect(w.stderr()).toMatch(/witness: POST \/add-checkpoint 422 inconsistent/);
  });

  it('serves GET /<sha256(origin)>/checkpoint with the log signature and its own cosignature', async () => {
    const dir = tempDir();
    const ledger = await sealedLedger(dir, 'l.db', ORIGIN);
    const { config, verifierKey } = await witnessConfig(dir, [{ origin: ORIGIN, key: ledger.logKey }]);
    const w = await start(config);
    const note = await ledger.grow(7);
    expect((await addCheckpoint(w.url, { oldSize: 0, proof: [], note })).ok).toBe(true);
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(ORIGIN).digest('hex');
    const res = await fetch(`${w.url}/${hash}/checkpoint`);
    expect(res.status).toBe(200);
    const served = await res.text();
    expect(parseNote(served).text).toBe(parseNote(note).text);
    expect(openCheckpoint(served, [ledger.logKey]).checkpoint.size).toBe(7);
    expect(verifyWitnessCosignatures(served, [verifierKey], 1).quorumMet).toBe(true);
    expect((await fetch(`${w.url}/${'0'.repeat(64)}/checkpoint`)).status).toBe(404);
  });
});
