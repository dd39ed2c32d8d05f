// A TCP proxy between a client and PostgreSQL that can cut the link around a
// COMMIT, to put a writer in the one state no ordinary failure reaches
// reliably: the transaction's fate unknown to the client.
import net from 'node:net';

/** What to do at the next COMMIT the client sends. */
export type CommitFault =
  /** Cut before the server sees COMMIT: the transaction rolls back. */
  | 'drop-commit'
  /** Let the server commit, then cut before its answer reaches the client. */
  | 'drop-reply'
  | undefined;

// A simple-protocol Query message carrying exactly "COMMIT": 'Q', int32 length (4 + 7), "COMMIT\0".
const COMMIT_QUERY = Buffer.concat([Buffer.from('Q'), Buffer.from([0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

export class CommitProxy {
  readonly #server: net.Server;
  fault: CommitFault;
  /** Faults that fired. */
  fired = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(upstreamPort: number): Promise<CommitProxy> {
    const server = net.createServer();
    const proxy = new CommitProxy(server);
    server.on('connection', (client) => proxy.#pipe(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  #pipe(client: net.Socket, upstreamPort: number): void {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    let awaitingReply = false;
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (this.fault && chunk.includes(COMMIT_QUERY)) {
        this.fired++;
        const fault = this.fault;
        this.fault = undefined;
        if (fault === 'drop-commit') return cut();
        awaitingReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (awaitingReply) return cut(); // the server answered COMMIT: it committed; the client never hears it
      client.write(chunk);
    });
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', cut);
    upstream.on('close', cut);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
