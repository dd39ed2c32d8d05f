import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

// A minimal static file server on loopback, as an operator would put in
// front of a tiles directory (docs/tiles.md): the headers tlog-tiles asks for,
// nothing else. Only the test's own client talks to it.

/** A running server; `url` ends with '/'. */
export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `dir` read-only at http://127.0.0.1:<port>/. */
export async function serveDir(dir: string): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    const file = normalize(join(dir, path));
    if (
      req.method !== 'GET' ||
      !file.startsWith(dir + sep) ||
      path.split('/').some((p) => p.startsWith('.'))
    ) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        const isCheckpoint = path === 'checkpoint';
        res.writeHead(200, {
          // tlog-tiles §Checkpoints and §"Merkle Tree".
          'content-type': isCheckpoint ? 'text/plain; charset=utf-8' : 'application/octet-stream',
          'cache-control': isCheckpoint ? 'no-cache, max-age=5' : 'public, max-age=31536000, immutable',
          'content-length': body.length,
        });
        res.end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
