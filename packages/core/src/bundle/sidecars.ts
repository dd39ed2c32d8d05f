import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { BundleShape } from './parse.js';
import { readBounded } from './read-file.js';
import { MAX_BUNDLE_BYTES } from './types.js';

// A bundle directory holds bundle.json and readable copies of its parts for
// people (README.txt, manifest.json, checkpoint.txt, keys.txt, entries.jsonl).
// People read those copies, so a copy that says something bundle.json does
// not is a lie the verdict must not cover (issue 14, finding 6). Each copy is
// derived from bundle.json by one function, used both to write it and to
// check it byte for byte.

/** The sidecar files of a bundle directory and their exact text, derived from the bundle. */
export function sidecarFiles(b: {
  manifest: unknown;
  readme: string;
  checkpoint: string;
  keys: readonly string[];
  entries: readonly unknown[];
}): [string, string][] | undefined {
  const lines: string[] = [];
  for (const e of b.entries) {
    const entry = (e as { entry?: unknown } | null)?.entry;
    if (typeof entry !== 'string') return undefined;
    // Entries are canonical JSON (RFC 8785 escapes control characters), so each is one line.
    lines.push(Buffer.from(entry, 'base64').toString('utf8'));
  }
  return [
    ['manifest.json', `${JSON.stringify(b.manifest, null, 2)}\n`],
    ['README.txt', b.readme],
    ['checkpoint.txt', b.checkpoint],
    ['keys.txt', `${b.keys.join('\n')}\n`],
    ['entries.jsonl', `${lines.join('\n')}\n`],
  ];
}

/** Reads a sidecar, bounded; undefined when absent. Never opens a FIFO or device (it could block). */
function readSidecar(path: string): { text?: string; problem?: string } {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return {};
  }
  if (!st.isFile()) return { problem: 'is not a regular file' };
  if (st.size > MAX_BUNDLE_BYTES) return { problem: 'is larger than 512 MiB' };
  try {
    const bytes = readBounded(path);
    return bytes ? { text: bytes.toString('utf8') } : { problem: 'is larger than 512 MiB' };
  } catch (err) {
    return { problem: `cannot be read (${(err as Error).message})` };
  }
}

/**
 * Compares every sidecar file present in bundle directory `dir` with what
 * bundle.json says. Returns problems (a copy that differs or cannot be read)
 * and notes (copies that are absent, which claim nothing). Never throws.
 */
export function checkSidecars(dir: string, shape: BundleShape): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  const expected = sidecarFiles(shape);
  if (!expected) {
    problems.push('the side files cannot be checked: a record in bundle.json has no entry text');
    return { problems, notes };
  }
  const missing: string[] = [];
  for (const [name, text] of expected) {
    const got = readSidecar(join(dir, name));
    if (got.problem) problems.push(`${name} ${got.problem}`);
    else if (got.text === undefined) missing.push(name);
    else if (got.text !== text) {
      problems.push(
        `${name} differs from bundle.json: it does not show what was verified; do not rely on it`,
      );
    }
  }
  if (missing.length > 0)
    notes.push(`Not in the bundle directory (nothing to check): ${missing.join(', ')}.`);
  return { problems, notes };
}
