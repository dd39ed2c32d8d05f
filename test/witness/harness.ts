import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BIN } from '../helpers/bin.js';
import { runCli } from '../helpers/cli.js';

// The real `sealog witness serve` process on loopback, driven over HTTP.

export { BIN };

export interface Running {
  url: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `sealog witness serve --config <config>` and resolves once it printed its URL. */
export function serveWitness(config: string): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'witness', 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`witness did not start: ${err}`));
    }, 20_000);
    let started = false;
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`witness exited ${code}: ${err}`));
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^(http:\/\/\S+)\n/.exec(out);
      if (!m) return;
      if (started) return;
      started = true;
      clearTimeout(timer);
      resolve({
        url: m[1]!,
        child,
        stderr: () => err,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

export interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/** A raw POST (no client-side checks), for bodies the client would refuse to send. */
export function post(url: string, path: string, body: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: 'POST', headers: { 'content-length': body.length } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: text,
          }),
        );
      },
    );
    // The server may answer 413 and close before the whole body is written.
    req.on('error', (err) => reject(err));
    req.end(body);
  });
}

/** What the witness state file holds for `origin`, read with a read-only connection. */
export function storedHead(
  stateFile: string,
  origin: string,
): { size: number; root: string; note: string } | undefined {
  const db = new Database(stateFile, { readonly: true });
  try {
    const row = db.prepare('SELECT size, root, note FROM witness_log WHERE origin = ?').get(origin) as
      | { size: number; root: Buffer; note: string }
      | undefined;
    return row && { size: row.size, root: row.root.toString('base64'), note: row.note };
  } finally {
    db.close();
  }
}

/** Creates a witness key and config in `dir`; returns the config path and the witness verifier key. */
export async function witnessConfig(
  dir: string,
  logs: { origin: string; key: string | string[] }[],
  name = 'witness.example/w1',
): Promise<{ config: string; stateFile: string; verifierKey: string }> {
  const keyFile = join(dir, `${name.replace(/\W/g, '_')}.key`);
  const r = await runCli(['witness', 'keygen', '--name', name, '--out', keyFile]);
  if (r.code !== 0) throw new Error(r.err);
  const config = join(dir, 'witness.json');
  writeFileSync(config, JSON.stringify({ keyFile, stateFile: 'witness.db', listen: '127.0.0.1:0', logs }));
  return { config, stateFile: join(dir, 'witness.db'), verifierKey: r.out.trim() };
}
