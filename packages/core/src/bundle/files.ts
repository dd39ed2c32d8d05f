import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SealogError } from '../errors.js';
import { parseBundleShape } from './parse.js';
import { readBounded } from './read-file.js';
import { checkSidecars, sidecarFiles } from './sidecars.js';
import { isStreamFile, verifyStream } from './stream-verify.js';
import { type Bundle, MAX_BUNDLE_BYTES } from './types.js';
import { type BundleReport, verifyBundle } from './verify.js';
import { type BundleTsaOptions, checkBundleTimestamps, checkBundleTsaOptions } from './verify-timestamps.js';
import { type BundleVerifyOptions, checkBundleWitnessOptions } from './witnesses.js';

// Two forms on disk. `x.json`: the bundle alone, one file to mail or drop on
// the browser verifier. A directory: the same bundle.json plus readable copies
// of its parts for people (README.txt, manifest.json, checkpoint.txt,
// keys.txt, entries.jsonl). bundle.json is verified; `sealog verify-bundle`
// on the directory also checks each copy against it (sidecars.ts).

/** The file inside a bundle directory that holds the bundle. */
export const BUNDLE_FILE = 'bundle.json';

/**
 * Writes `bundle` to `out`: a single JSON file when `out` ends in `.json`,
 * else a new (or empty) directory. Never overwrites an existing file.
 * @throws SealogError E_IO naming the path (exists, not empty, not writable).
 */
export function writeBundle(bundle: Bundle, out: string): string[] {
  const json = `${JSON.stringify(bundle, null, 1)}\n`;
  try {
    if (out.endsWith('.json')) {
      writeFileSync(out, json, { flag: 'wx' });
      return [out];
    }
    mkdirSync(out, { recursive: true });
    if (readdirSync(out).length > 0)
      throw new SealogError('E_IO', `${out} is not empty; choose a new directory`);
    const files: [string, string][] = [[BUNDLE_FILE, json], ...(sidecarFiles(bundle) ?? [])];
    for (const [name, text] of files) writeFileSync(join(out, name), text, { flag: 'wx' });
    return files.map(([name]) => join(out, name));
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw new SealogError('E_IO', `cannot write the bundle to ${out}`, { cause: err });
  }
}

/**
 * Reads a bundle's bytes from a `.json` file or a bundle directory, refusing
 * files over {@link MAX_BUNDLE_BYTES} before reading them.
 * @throws SealogError E_IO (missing, unreadable, too large).
 */
export function readBundleFile(path: string): Uint8Array {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, BUNDLE_FILE);
    // A FIFO or device named like a bundle would block the open or never end.
    if (!statSync(file).isFile()) throw new SealogError('E_IO', `${file} is not a regular file`);
    const bytes = readBounded(file);
    if (!bytes) throw new SealogError('E_IO', `${file} is larger than 512 MiB; not a bundle`);
    return bytes;
  } catch (err) {
    if (err instanceof SealogError) throw err;
    throw new SealogError('E_IO', `cannot read the bundle ${file}`, { cause: err });
  }
}

/**
 * Verifies a bundle on disk: a `.json` file, a streamed bundle (JSON Lines,
 * `sealog export --format jsonl`), or a bundle directory, whose
 * side files (README.txt, manifest.json, checkpoint.txt, keys.txt,
 * entries.jsonl) must then each match bundle.json byte for byte: a copy
 * people read that says something else fails the bundle.
 * With `tsaAnchors`, also the RFC 3161 tokens it carries (verify-timestamps.ts);
 * with `witnesses`, the quorum on the bundle checkpoint (witnesses.ts).
 * @throws SealogError E_IO when the bundle file cannot be read (see
 *   readBundleFile); E_CONFIG for bad TSA options (no PEM certificate) or a
 *   bad witness policy; E_KEY for a witness key that is not one.
 */
export function verifyBundlePath(
  path: string,
  options: BundleVerifyOptions & Partial<BundleTsaOptions> = {},
): BundleReport {
  if (options.witnesses !== undefined || options.quorum !== undefined) checkBundleWitnessOptions(options);
  const tsa = options.tsaAnchors !== undefined ? (options as BundleTsaOptions) : undefined;
  if (tsa) checkBundleTsaOptions(tsa);
  else if (options.tsa !== undefined || options.tsaPolicy !== undefined || options.tsaSigners !== undefined)
    throw new SealogError('E_CONFIG', 'tsa, tsaPolicy and tsaSigners need tsaAnchors (--tsa-anchor)');
  // A streamed bundle (JSON Lines, stream.ts) is read line by line, never whole.
  if (isStreamFile(path)) {
    const { report, shape } = verifyStream(path, options);
    if (tsa && shape) checkBundleTimestamps(shape, report, tsa);
    return report;
  }
  const bytes = readBundleFile(path);
  const report = verifyBundle(bytes, options);
  let dir = false;
  try {
    dir = statSync(path).isDirectory();
  } catch {}
  if (report.status === 'unreadable' || (!dir && !tsa)) return report;
  const parsed = parseBundleShape(bytes);
  if ('error' in parsed) return report;
  if (tsa) checkBundleTimestamps(parsed.shape, report, tsa);
  if (!dir) return report;
  const { problems, notes } = checkSidecars(path, parsed.shape);
  report.problems.push(...problems);
  report.notes.push(...notes);
  if (problems.length > 0) report.status = 'failed';
  return report;
}
