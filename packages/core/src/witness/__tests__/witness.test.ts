import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../../test/helpers/tmp.js';
import { openCheckpoint, signCheckpoint } from '../../checkpoint/signed.js';
import { EMPTY_ROOT, sha256 } from '../../hash.js';
import { generateKey, parseSignerKey } from '../../note/keys.js';
import { parseNote, verifyCosignature } from '../../note/note.js';
import { verifyWitnessCosignatures } from '../quorum.js';
import { formatAddCheckpointRequest } from '../request.js';
import type { WitnessState } from '../state.js';
import { history, ledgerLeaves, makeHistory, makeWitness, NOW_MS, ORIGIN } from './fixture.js';

const open: WitnessState[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function setup(records = 40) {
  const dir = tempDir();
  const log = await makeHistory(dir, records);
  const w = makeWitness(dir, [log]);
  open.push(w.state);
  return { dir, log, ...w };
}

function snapshot(state: WitnessState) {
  const h = state.get(ORIGIN);
  return (
    h && { size: h.size, root: Buffer.from(h.root).toString('base64'), note: h.note, updatedMs: h.updatedMs }
  );
}

describe('Witness.addCheckpoint (C2SP tlog-witness §add-checkpoint)', () => {
  it('cosigns a real ledger history submitted in order, with a verifying cosignature/v1 line each time', async () => {
    const { log, witness, state, verifierKey } = await setup();
    let old = 0;
    for (const size of [1, 2, 7, 8, 20, 33, 40, 40]) {
      const reply = witness.addCheckpoint(log.request(old, size));
      expect(reply.status, `size ${size}: ${reply.body}`).toBe(200);
      expect(reply.body).toMatch(/^— witness\.example\/w1 [A-Za-z0-9+/=]+\n$/);
      const body = parseNote(log.note(size)).text;
      expect(verifyCosignature(body, reply.body, verifierKey)).toBe(NOW_MS / 1000);
      expect(state.get(ORIGIN)?.size).toBe(size);
      old = size;
    }
  });

  it('stores the cosigned checkpoint with the log signature and its own, for GET <origin hash>/checkpoint', async () => {
    const { log, witness, verifierKey } = await setup();
    expect(witness.addCheckpoint(log.request(0, 12)).status).toBe(200);
    const hash = sha256(Buffer.from(ORIGIN)).toString('hex');
    const got = witness.checkpoint(hash);
    expect(got.status).toBe(200);
    expect(openCheckpoint(got.body, [log.logKey]).checkpoint.size).toBe(12);
    const q = verifyWitnessCosignatures(got.body, [verifierKey], 1);
    expect(q.quorumMet).toBe(true);
    // The log's own time-cosigner line is not "a log key the witness verified": it is not kept.
    expect(parseNote(got.body).signatures.map((s) => s.name)).toEqual([ORIGIN, 'witness.example/w1']);
    expect(witness.checkpoint('00'.repeat(32)).status).toBe(404);
  });

  it('answers each refusal with the spec status and leaves the state exactly as it was', async () => {
    const { dir, log, witness, state } = await setup();
    expect(witness.addCheckpoint(log.request(0, 10)).status).toBe(200);
    const before = snapshot(state);
    const other = parseSignerKey(generateKey(ORIGIN).privateKey); // same origin, key not trusted
    const forkLeaves = await ledgerLeaves(dir, 40, 'fork.db', 'rewritten');
    const fork = history(forkLeaves, log.signer);
    const cases: [string, Buffer, number][] = [
      ['stale old size (0 ≠ 10)', log.request(0, 20), 409],
      ['stale old size (5 ≠ 10)', log.request(5, 20), 409],
      [
        'old size above the checkpoint size',
        formatAddCheckpointRequest({ oldSize: 30, proof: [], note: log.note(20) }),
        400,
      ],
      [
        'bad consistency proof',
        formatAddCheckpointRequest({ oldSize: 10, proof: log.proof(11, 20), note: log.note(20) }),
        422,
      ],
      ['proof hash flipped', flipProof(log, 10, 20), 422],
      ['fork: a different root at the cosigned size', fork.request(10, 10), 422],
      ['fork: a rewritten history, proof from its own tree', fork.request(10, 20), 422],
      [
        'same size, proof given',
        formatAddCheckpointRequest({ oldSize: 10, proof: log.proof(5, 10), note: log.note(10) }),
        422,
      ],
      ['signed by an untrusted key for a known origin', history(log.leaves, other).request(10, 20), 403],
      [
        'unknown origin',
        (() => {
          const s = parseSignerKey(generateKey('other.example/log').privateKey);
          return history(log.leaves, s).request(10, 20);
        })(),
        404,
      ],
      ['malformed note', Buffer.from('old 10\n\nnot a note\n'), 400],
      ['malformed checkpoint body', malformedBody(log), 400],
      ['no empty line', Buffer.from('old 10\n'), 400],
    ];
    for (const [what, body, status] of cases) {
      const reply = witness.addCheckpoint(body);
      expect(reply.status, `${what}: ${reply.body}`).toBe(status);
      expect(snapshot(state), what).toEqual(before);
    }
    const conflict = witness.addCheckpoint(log.request(0, 20));
    expect(conflict.contentType).toBe('text/x.tlog.size');
    expect(conflict.body).toBe('10\n');
    // Refused with valid log signatures → kept as evidence; junk is not.
    expect(witness.addCheckpoint(fork.request(10, 20)).evidence).toBe(fork.note(20));
    expect(witness.addCheckpoint(Buffer.from('old 10\n\nx\n')).evidence).toBeUndefined();
  });

  it('a trusted key whose signature fails is 403 even beside a valid one (signed-note: the note is malformed)', async () => {
    const { log, witness, state } = await setup();
    const note = log.note(5);
    const lines = note.split('\n');
    const sigLine = lines.findIndex((l) => l.startsWith(`— ${ORIGIN} `));
    const good = lines[sigLine]!;
    const b = Buffer.from(good.slice(good.lastIndexOf(' ') + 1), 'base64');
    b[10]! ^= 1;
    lines.splice(sigLine + 1, 0, `— ${ORIGIN} ${b.toString('base64')}`);
    const reply = witness.addCheckpoint(
      formatAddCheckpointRequest({ oldSize: 0, proof: [], note: lines.join('\n') }),
    );
    expect(reply.status).toBe(403);
    expect(state.get(ORIGIN)).toBeUndefined();
  });

  it('size 0: the empty root is cosigned, any other root is 422, and a proof after old 0 is 422', async () => {
    const { log, witness, state } = await setup();
    const zero = (root: Uint8Array) =>
      formatAddCheckpointRequest({
        oldSize: 0,
        proof: [],
        note: signCheckpoint({ origin: ORIGIN, size: 0, root }, log.signer, NOW_MS / 1000),
      });
    expect(witness.addCheckpoint(zero(sha256(Buffer.from('x')))).status).toBe(422);
    expect(state.get(ORIGIN)).toBeUndefined();
    expect(witness.addCheckpoint(zero(EMPTY_ROOT)).status).toBe(200);
    expect(state.get(ORIGIN)?.size).toBe(0);
    const withProof = formatAddCheckpointRequest({ oldSize: 0, proof: log.proof(3, 9), note: log.note(9) });
    expect(witness.addCheckpoint(withProof).status).toBe(422);
    expect(state.get(ORIGIN)?.size).toBe(0);
    expect(witness.addCheckpoint(log.request(0, 9)).status).toBe(200);
  });

  it('re-submitting the cosigned checkpoint (old = size, same root) is cosigned again with the time of now', async () => {
    const dir = tempDir();
    const log = await makeHistory(dir, 8);
    let now = NOW_MS;
    const w = makeWitness(dir, [log], () => now);
    open.push(w.state);
    expect(w.witness.addCheckpoint(log.request(0, 8)).status).toBe(200);
    now += 60_000;
    const again = w.witness.addCheckpoint(log.request(8, 8));
    expect(again.status).toBe(200);
    expect(verifyCosignature(parseNote(log.note(8)).text, again.body, w.verifierKey)).toBe(
      NOW_MS / 1000 + 60,
    );
  });

  it('refuses to cosign with a clock at the epoch (the timestamp MUST NOT be zero), storing nothing', async () => {
    const dir = tempDir();
    const log = await makeHistory(dir, 3);
    const w = makeWitness(dir, [log], () => 999);
    open.push(w.state);
    expect(w.witness.addCheckpoint(log.request(0, 3)).status).toBe(500);
    expect(w.state.get(ORIGIN)).toBeUndefined();
  });
});

function flipProof(log: ReturnType<typeof history>, from: number, to: number): Buffer {
  const proof = log.proof(from, to).map((h) => Uint8Array.from(h));
  proof[0]![0]! ^= 0x80;
  return formatAddCheckpointRequest({ oldSize: from, proof, note: log.note(to) });
}

function malformedBody(log: ReturnType<typeof history>): Buffer {
  // A validly signed note whose text is not a checkpoint (size line with a leading zero).
  const text = `${ORIGIN}\n020\n${Buffer.from(log.root(20)).toString('base64')}\n`;
  const note = `${text}\n— ${ORIGIN} ${Buffer.concat([log.signer.keyId, log.signer.sign(Buffer.from(text))]).toString('base64')}\n`;
  return formatAddCheckpointRequest({ oldSize: 10, proof: [], note });
}
