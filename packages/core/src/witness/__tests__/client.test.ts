import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../../test/helpers/tmp.js';
import { isSealogError } from '../../errors.js';
import { addCheckpoint } from '../client.js';
import { mergeCosignatures, verifyWitnessCosignatures } from '../quorum.js';
import { createWitnessServer } from '../server.js';
import { makeHistory, makeWitness } from './fixture.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((ok) => s.close(ok));
  }
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server that answers every request with `handler`. */
function fake(handler: Parameters<typeof createServer>[1]) {
  return listen(createServer(handler));
}

describe('addCheckpoint (client)', () => {
  it('gets a cosignature from a real witness server, then a typed conflict carrying the witness size', async () => {
    const dir = tempDir();
    const log = await makeHistory(dir, 12);
    const w = makeWitness(dir, [log]);
    const url = await listen(createWitnessServer(w.witness));
    const r = await addCheckpoint(
      `${url}/`,
      { oldSize: 0, proof: [], note: log.note(5) },
      { timeoutMs: 5000 },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.lines).toHaveLength(1);
    const cosigned = mergeCosignatures(log.note(5), r.lines);
    expect(verifyWitnessCosignatures(cosigned, [w.verifierKey], 1).quorumMet).toBe(true);
    const stale = await addCheckpoint(url, { oldSize: 0, proof: [], note: log.note(12) });
    expect(stale).toMatchObject({ ok: false, kind: 'conflict', status: 409, witnessSize: 5 });
    const next = await addCheckpoint(url, { oldSize: 5, proof: log.proof(5, 12), note: log.note(12) });
    expect(next.ok).toBe(true);
    const bad = await addCheckpoint(url, { oldSize: 12, proof: [], note: log.note(11) });
    expect(bad).toMatchObject({ ok: false, kind: 'refused', status: 400 });
    w.state.close();
  });

  it('types every way a witness can fail to answer or answer wrongly', async () => {
    const log = await makeHistory(tempDir(), 3);
    const req = { oldSize: 0, proof: [], note: log.note(3) };
    const cases: [string, Parameters<typeof createServer>[1], Record<string, unknown>][] = [
      ['junk 200', (_q, s) => s.end('hello\n'), { kind: 'garbage', status: 200 }],
      ['empty 200', (_q, s) => s.end(''), { kind: 'garbage', status: 200 }],
      ['409 without its type', (_q, s) => s.writeHead(409).end('5\n'), { kind: 'garbage', status: 409 }],
      [
        '409 with a bad size',
        (_q, s) => s.writeHead(409, { 'content-type': 'text/x.tlog.size' }).end('05\n'),
        { kind: 'garbage', status: 409 },
      ],
      [
        'a huge answer',
        (_q, s) => {
          s.writeHead(200);
          const chunk = Buffer.alloc(16 * 1024, 0x41);
          for (let i = 0; i < 100; i++) s.write(chunk);
          s.end();
        },
        { kind: 'garbage' },
      ],
      [
        'a 503',
        (_q, s) => s.writeHead(503).end('busy\u0000\n'),
        { kind: 'refused', status: 503, message: 'busy' },
      ],
      ['a cut connection', (q) => q.socket.destroy(), { kind: 'unreachable' }],
      ['no answer at all', () => {}, { kind: 'timeout' }],
      ['headers, then silence', (_q, s) => s.writeHead(200).write('— w AAAA'), { kind: 'timeout' }],
    ];
    for (const [what, handler, expected] of cases) {
      const url = await fake(handler);
      const r = await addCheckpoint(url, req, { timeoutMs: 500 });
      expect(r, what).toMatchObject({ ok: false, ...expected });
    }
  });

  it('reports a closed port as unreachable and honours an abort signal', async () => {
    const log = await makeHistory(tempDir(), 1);
    const req = { oldSize: 0, proof: [], note: log.note(1) };
    const url = await fake(() => {});
    const port = Number(new URL(url).port);
    const s = servers.pop()!;
    s.closeAllConnections();
    await new Promise((ok) => s.close(ok));
    expect(await addCheckpoint(`http://127.0.0.1:${port}`, req)).toMatchObject({
      ok: false,
      kind: 'unreachable',
    });
    const hang = await fake(() => {});
    const ac = new AbortController();
    const pending = addCheckpoint(hang, req, { timeoutMs: 60_000, signal: ac.signal });
    ac.abort();
    expect(await pending).toMatchObject({ ok: false, kind: 'timeout' });
    ac.abort();
    expect(await addCheckpoint(hang, req, { signal: ac.signal })).toMatchObject({ kind: 'timeout' });
  });

  it('refuses bad arguments with E_CONFIG only', async () => {
    const log = await makeHistory(tempDir(), 1);
    const note = log.note(1);
    for (const [url, request, options] of [
      ['ftp://x/', { oldSize: 0, proof: [], note }, {}],
      ['not a url', { oldSize: 0, proof: [], note }, {}],
      ['http://u:p@x/', { oldSize: 0, proof: [], note }, {}],
      ['http://x/', { oldSize: -1, proof: [], note }, {}],
      ['http://x/', { oldSize: 0, proof: [new Uint8Array(3)], note }, {}],
      ['http://x/', { oldSize: 0, proof: [], note: 'no newline' }, {}],
      ['http://x/', { oldSize: 0, proof: [], note }, { timeoutMs: 0 }],
    ] as const) {
      let err: unknown;
      try {
        await addCheckpoint(url, request as never, options);
      } catch (e) {
        err = e;
      }
      expect(isSealogError(err) && err.code, url).toBe('E_CONFIG');
    }
  });
});
