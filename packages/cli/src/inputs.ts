import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { closest, isSealogError, parseVerifierKey, SealogError, type VerifierKey } from '@sealog/core';
import { UsageError } from './command.js';

/** Largest file a command reads whole (notes, proofs, key lists, anchor files). */
export const MAX_INPUT_FILE_BYTES = 256 * 1024 * 1024;

/** Reads a whole input file, bounded in size. @throws SealogError E_IO naming `what` and the path. */
export function readInputFile(path: string, what: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new SealogError('E_IO', `cannot read ${what} ${path}: ${why}`, { cause: err });
  }
  // A FIFO or device would block or never end; a directory is a slip.
  if (!st.isFile()) throw new SealogError('E_IO', `cannot read ${what} ${path}: not a regular file`);
  if (st.size > MAX_INPUT_FILE_BYTES)
    throw new SealogError('E_IO', `cannot read ${what} ${path}: larger than ${MAX_INPUT_FILE_BYTES} bytes`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SealogError('E_IO', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The two ways to give verifier keys, shared by every command that checks signatures. */
export const KEY_OPTIONS = {
  key: { type: 'string', multiple: true },
  'key-file': { type: 'string', multiple: true },
} as const;

export const KEY_USAGE = `  --key <vkey>         a trusted verifier key string (name+8hex+base64), as printed by
                       \`sealog keygen\`; never read as a file name. Repeatable.
  --key-file <path>    a file of verifier keys, one per line (# comments), e.g. the
                       saved \`sealog keygen\` output. Repeatable; combines with --key.
`;

/**
 * A key's shape, `<name>+<8 hex digits>+…`: a value holding it is judged as a
 * key, however mistyped. "/" says nothing: origins (example.com/audit) and
 * base64 hold it, so every key would look like a path (issue 19).
 */
const KEY_SHAPE = /\+[0-9a-f]{8}\+/i;

/** What a --key value that is not a key looks like when the user meant a file. */
function looksLikePath(v: string): boolean {
  if (KEY_SHAPE.test(v) || v.trim() === '') return false;
  return /[/\\]/.test(v) || /\.(txt|pub|vkeys?|keys?)$/i.test(v) || !v.includes('+');
}

/** Base64 of a verifier key's 33 bytes (type byte and Ed25519 public key): 44 characters, no padding. */
const KEY_B64_CHARS = 44;

/**
 * `why` (parseVerifierKey's message for `v`) with the slip named where it is
 * the length of the part after the key ID, the usual one in a copied key (a
 * character lost or doubled). Says only a count: no key material.
 */
function keyProblem(v: string, why: string): string {
  const s = v.trim();
  const at = KEY_SHAPE.exec(s);
  // The ID follows the first "+" (names hold none), else the shape is elsewhere.
  if (!at || at.index !== s.indexOf('+') || /PRIVATE/i.test(s)) return why;
  const b64 = s.slice(at.index + at[0].length);
  if (b64.length === KEY_B64_CHARS || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return why;
  return `${why}: the part after the key ID has ${b64.length} characters where a verifier key has ${KEY_B64_CHARS} (a character missing or extra?); copy the whole line \`sealog keygen\` printed`;
}

/** A key argument as it may appear in an error: never echo what might be private key material. */
function shown(v: string): string {
  if (/PRIVATE/i.test(v)) return '(a private key)';
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
}

/** Most directory entries looked at for a "did you mean" file name. */
const MAX_SUGGEST_ENTRIES = 1000;

/** A file beside `path` whose name is one slip away, for "did you mean". Never reads a file. */
function nearbyFile(path: string): string | undefined {
  try {
    const dir = dirname(path);
    const names = readdirSync(dir).slice(0, MAX_SUGGEST_ENTRIES);
    const guess = closest(basename(path), names);
    return guess === undefined ? undefined : dir === '.' && !path.startsWith('./') ? guess : join(dir, guess);
  } catch {
    return undefined; // no such directory, or not readable: no guess
  }
}

/**
 * Why a --<flag> value that looks like a path is not a key, and what to type.
 * The name is only tested for existence and compared with its neighbours,
 * never opened: a key string is never read as a file (issue 14, finding 3).
 */
function pathHint(v: string, fileFlag: string): string {
  if (existsSync(v)) return `it names a file; to read keys from a file, use --${fileFlag} ${shown(v)}`;
  const near = nearbyFile(v);
  return (
    `it looks like a file name, and no file ${shown(v)} exists${near ? ` (did you mean ${shown(near)}?)` : ''}; ` +
    `to read keys from a file, use --${fileFlag} <file>. A key itself looks like <name>+<8 hex digits>+<base64>, one line of what \`sealog keygen\` printed`
  );
}

/**
 * Verifier keys from `--key` (key strings only) and `--key-file` (files of
 * keys). Issue 14, finding 3: a key string is never opened as a path, or an
 * insider who plants a file named like the real key in the working directory
 * chooses the key the verifier trusts.
 * @throws UsageError when `required` and none is given, or a --key value is
 *   not a verifier key; SealogError E_IO (key file unreadable or not a regular
 *   file) or E_KEY (a bad line in a key file).
 */
export function readKeyArgs(
  values: { key?: readonly string[] | undefined; 'key-file'?: readonly string[] | undefined },
  required: boolean,
): string[] {
  const given = values.key ?? [];
  const files = values['key-file'] ?? [];
  if (required && given.length === 0 && files.length === 0) {
    throw new UsageError(
      '--key <verifier key> or --key-file <file> is required (the verifier keys `sealog keygen` printed)',
    );
  }
  return readKeyList(given, files, { flag: 'key', fileFlag: 'key-file', file: 'key file' });
}

/**
 * Key strings given with `--<flag>` and files of them given with
 * `--<fileFlag>` (one key a line, `#` comments), each checked by
 * parseVerifierKey; the same rules as {@link readKeyArgs} for any kind of key.
 * @throws UsageError (a value that is not a key, a file with none);
 *   SealogError E_IO (unreadable file) or E_KEY (a bad line, naming file and line).
 */
export function readKeyList(
  given: readonly string[],
  files: readonly string[],
  names: { flag: string; fileFlag: string; file: string },
  /** What is wrong with a well-formed key for this use (e.g. its type), or undefined. */
  problem: (key: VerifierKey) => string | undefined = () => undefined,
): string[] {
  const keys: string[] = [];
  for (const v of given) {
    try {
      const why = problem(parseVerifierKey(v));
      if (why) throw new UsageError(`--${names.flag} ${shown(v)}: ${why}`);
    } catch (err) {
      if (!isSealogError(err)) throw err;
      const why =
        looksLikePath(v) && !/PRIVATE/i.test(v) ? pathHint(v, names.fileFlag) : keyProblem(v, err.message);
      throw new UsageError(`--${names.flag} ${shown(v)} is not a verifier key: ${why}`);
    }
    keys.push(v.trim());
  }
  for (const path of files) {
    const lines = readInputFile(path, names.file)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) throw new UsageError(`${names.file} ${path} holds no verifier key`);
    for (const [i, l] of lines.entries()) {
      let why: string | undefined;
      try {
        why = problem(parseVerifierKey(l));
      } catch (err) {
        if (!isSealogError(err)) throw err;
        throw new SealogError('E_KEY', `${names.file} ${path}, key ${i + 1}: ${err.message}`, { cause: err });
      }
      if (why) throw new SealogError('E_KEY', `${names.file} ${path}, key ${i + 1}: ${why}`);
    }
    keys.push(...lines);
  }
  return keys;
}
