// A TCP proxy in front of PostgreSQL that loses the link around the COMMIT of
// a sealog append: the one moment where the writer cannot know whether its
// batch was stored (a "COMMIT in doubt"). It reads the client's side of the
// wire protocol just far enough to spot that COMMIT: after the startup message
// every frontend message is type (1 byte) + length (4 bytes, counting itself).
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * What happens to the COMMIT that is cut; the client's socket is closed at once in every mode.
 * - `after`: the server gets the COMMIT, the reply is lost (the batch IS stored).
 * - `before`: the server never gets it (the batch is NOT stored).
 * - `late`: the server gets it only `lateMs` later, as a retransmitted packet would
 *   arrive (stored, but after the writer has already reconnected).
 */
export type CutMode = 'after' | 'before' | 'late';

export interface CommitCutter {
  /** A URL like `url` that goes through the proxy. */
  url: string;
  /** How many append COMMITs were cut, per mode. */
  cuts: Record<CutMode, number>;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;

/**
 * Starts the proxy. `plan(n)` is asked for the n-th append COMMIT (1-based) seen
 * on any connection and returns the mode to cut it with, or undefined to let it pass.
 */
export async function startCommitCutter(
  url: string,
  plan: (n: number) => CutMode | undefined,
  lateMs = 400,
): Promise<CommitCutter> {
  const target = new URL(url);
  const cuts: Record<CutMode, number> = { after: 0, before: 0, late: 0 };
  const sockets = new Set<Socket>();
  let commits = 0;

  const onClient = (client: Socket): void => {
    const server = tcpConnect(Number(target.port), target.hostname);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {}); // the peer's close is expected here
    }
    server.pipe(client);
    client.on('close', () => setTimeout(() => server.destroy(), lateMs * 2));
    let buf = Buffer.alloc(0);
    let startup = true;
    let lastParse = '';
    let cut = false;
    client.on('data', (data: Buffer) => {
      if (cut) return;
      buf = Buffer.concat([buf, data]);
      for (;;) {
        const head = startup ? 0 : 1;
        if (buf.length < head + 4) return;
        const len = buf.readUInt32BE(head) + head;
        if (buf.length < len) return;
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (startup) {
          // Only an SSLRequest is followed by another untyped message.
          startup = msg.length === 8 && msg.readUInt32BE(4) === SSL_REQUEST;
          server.write(msg);
          continue;
        }
        const type = String.fromCharCode(msg[0]!);
        const text = msg.subarray(5).toString('utf8');
        if (type === 'P') lastParse = text; // Parse: the statement text of a parameterised query
        // An append's COMMIT follows its INSERT INTO "<schema>"."records" (checkpoints are left alone).
        const appendCommit =
          type === 'Q' && text.startsWith('COMMIT\0') && /INSERT INTO "[^"]+"\."records"/.test(lastParse);
        const mode = appendCommit ? plan(++commits) : undefined;
        if (mode === undefined) {
          server.write(msg);
          continue;
        }
        cut = true;
        cuts[mode]++;
        server.unpipe(client);
        client.destroy();
        if (mode === 'after') server.write(msg);
        if (mode === 'late') setTimeout(() => server.write(msg), lateMs);
        return;
      }
    });
  };

  const proxy: Server = createServer(onClient);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(typeof address === 'object' && address ? address.port : 0);
  return {
    url: proxied.toString(),
    cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}
