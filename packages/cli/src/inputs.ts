import { existsSync, readFileSync, statSync } from 'node:fs';
import { SealogError } from '@sealog/core';
import { UsageError } from './command.js';

/** Largest file a command reads whole (notes, proofs, key lists, anchor files). */
export const MAX_INPUT_FILE_BYTES = 256 * 1024 * 1024;

/** Reads a whole input file, bounded in size. @throws SealogError E_IO naming `what` and the path. */
export function readInputFile(path: string, what: string): string {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_INPUT_FILE_BYTES) throw new Error(`larger than ${MAX_INPUT_FILE_BYTES} bytes`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SealogError('E_IO', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Verifier keys from repeated --key values: each a verifier key string, or a
 * file holding keys one per line (`#` comments; e.g. the saved `keygen`
 * output). A vkey contains "+" and no path separator, so an existing regular
 * file wins only when it is one.
 * @throws UsageError when `required` and none is given, or a key file is empty; SealogError E_IO.
 */
export function readKeyArgs(values: readonly string[] | undefined, required: boolean): string[] {
  if (required && !values?.length) {
    throw new UsageError(
      '--key <verifier key> is required (the verifier keys `sealog keygen` printed, or a file of them)',
    );
  }
  const keys: string[] = [];
  for (const v of values ?? []) {
    if (existsSync(v) && statSync(v).isFile()) {
      const lines = readInputFile(v, 'key file')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'));
      if (lines.length === 0) throw new UsageError(`key file ${v} holds no verifier key`);
      keys.push(...lines);
    } else keys.push(v);
  }
  return keys;
}
