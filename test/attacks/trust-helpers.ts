import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Keys, keygen, WriterProcess } from './harness.js';

// Helpers of the attacks on trust roots and verdicts (issue 14, findings 3, 4,
// 6, 7): a sealed ledger written by a real writer process, and the insider's
// own key pair for the same origin name.

/** Writes `n` records with a real writer and seals them (close writes the final checkpoint). */
export async function sealedLedger(path: string, keys: Keys, n: number, tag: string): Promise<void> {
  const w = new WriterProcess({ path, checkpoint: { keyFile: keys.keyFile, everyRecords: 10 } });
  await w.ready();
  await w.send('write', n, tag);
  await w.send('flush');
  const code = await w.close();
  if (code !== 0) throw new Error(`writer exited ${code}: ${w.err}`);
}

/**
 * The insider's key pair, named like the real log (same origin), whose log
 * verifier key string can be a file path: it must not end in "/".
 */
export async function insiderKeys(dir: string, origin = 'example.com/audit'): Promise<Keys> {
  for (let i = 0; ; i++) {
    const k = await keygen(dir, origin, `insider${i}`);
    if (!k.vkeys[0]!.endsWith('/')) return k;
  }
}

/** The real owner's key pair whose log key string can name a file (see insiderKeys). */
export async function ownerKeys(dir: string, origin = 'example.com/audit'): Promise<Keys> {
  for (let i = 0; ; i++) {
    const k = await keygen(dir, origin, `owner${i}`);
    if (!k.vkeys[0]!.endsWith('/')) return k;
  }
}

/** Plants, under `cwd`, a file whose relative path is exactly `name`, holding `text`. */
export function plantFile(cwd: string, name: string, text: string): string {
  const path = join(cwd, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}
