import { existsSync, readdirSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  anchorTimestampsPath,
  type BundleManifest,
  type ExportOptions,
  exportBundle,
  exportStream,
  LedgerReader,
  listSegments,
  openSegment,
  SealogError,
  type SegmentQuery,
  writeBundle,
} from '@sealog/core';
import { type Command, EXIT_OK, UsageError } from '../command.js';
import { buildQuery, FILTER_OPTIONS, FILTER_USAGE, type FilterValues, segmentOnlyFor } from '../filters.js';
import { writeHtmlBundle } from '../html-page.js';
import { KEY_OPTIONS, KEY_USAGE, readInputFile, readKeyArgs } from '../inputs.js';
import { progressReporter } from '../progress.js';
import { checkHasSegments } from '../segments.js';
import { isSegmentDirArg, LEDGER_ARG, withLedger } from '../source.js';

const usage = `usage: sealog export <ledger | segment directory --segment K> (--key <vkey> | --key-file <file>)...
                     (--out <dir | file.json> | --html <file.html> | --format jsonl --out <file.jsonl>)
                     [--anchor <file>] [--progress] [filters]

Writes an evidence bundle for an auditor: the selected records exactly as
stored, an inclusion proof for each against the newest checkpoint signed by
the given keys that covers them (other checkpoint rows are ignored), that
checkpoint, the verifier keys, the anchor checkpoints that cover the range
(--anchor) and a README. Rows left out by filters or --seq are reported as
withheld; the rows included still verify. Read-only.

${KEY_USAGE}                       Give the log key and its <origin>/time key (the two lines
                       \`sealog keygen\` printed).
  --out <path>         a new directory (bundle.json, README.txt, manifest.json,
                       checkpoint.txt, keys.txt, entries.jsonl), or a single
                       file ending in .json (what the browser verifier loads);
                       an existing file or non-empty directory is refused
  --html <file.html>   one web page with the bundle inside: the auditor opens it
                       in a browser (offline, nothing installed), pastes the log's
                       verifier key and sees each record verified. With --out,
                       both are written. An existing file is refused
  --format jsonl       write --out as JSON Lines, streamed as it is proved (for
                       large exports: memory stays bounded, no one huge string):
                       a header line (checkpoint, keys, manifest, anchors), then
                       one line per record with its proof. \`sealog verify-bundle\`
                       checks it line by line; the browser verifier does not
                       read it. Implied by an --out ending in .jsonl; not with --html
  --anchor <file>      the anchor file the checkpointer appends to
  --progress           report progress on stderr (at most a line a second);
                       the default when stderr is a terminal
  --segment K          required for a segment directory (seg-000001.db, …): a
                       bundle is proved against one segment's tree, so it holds
                       records of segment K only, --seq counting within it.
                       Records of several segments are several bundles: run
                       export once per segment, each into its own --out

The recipient checks it with \`sealog verify-bundle\`, or in a browser: the
--html page, or verifier.html (shipped in @sealog/cli as dist/verifier.html)
with bundle.json dropped on it. Either way the recipient pastes the verifier
key got from the log owner: the keys inside a bundle prove only that it is
self-consistent. If no checkpoint covers the range yet, run \`sealog checkpoint\`.
A PostgreSQL ledger pruned under retention exports records from its cut on
(proved through its tombstone, which must verify as \`sealog verify\` requires);
a selection reaching below the cut is refused (docs/lifecycle.md).

${FILTER_USAGE}`;

/**
 * Refuses an --out that export would not write, before any work: an existing
 * file (export never overwrites; it said only "cannot write the bundle"), or a
 * directory that is not empty.
 * @throws UsageError saying what to do
 */
function checkOut(out: string, flag = '--out', file = false): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(out);
  } catch {
    return; // nothing there yet: the usual case
  }
  if (!st.isDirectory() || out.endsWith('.json') || flag === '--html' || file)
    throw new UsageError(
      `${flag} ${out} already exists; choose another name or remove it (export never overwrites)`,
    );
  if (readdirSync(out).length > 0) throw new UsageError(`--out ${out} is not empty; choose a new directory`);
}

/**
 * Whether --out is the streamed JSON Lines form: `--format jsonl`, or an --out
 * ending in .jsonl with no --format.
 * @throws UsageError for another format, or jsonl without --out or with --html
 */
function streamed(format: string | undefined, out: string | undefined, html: string | undefined): boolean {
  if (format !== undefined && format !== 'jsonl' && format !== 'bundle')
    throw new UsageError(`--format must be jsonl or bundle, got ${JSON.stringify(format)}`);
  const jsonl = format === 'jsonl' || (format === undefined && out?.endsWith('.jsonl') === true);
  if (jsonl && html !== undefined)
    throw new UsageError(
      '--html is a web page of the whole bundle; it cannot be streamed: drop --format jsonl',
    );
  if (jsonl && out === undefined)
    throw new UsageError('--format jsonl writes --out <file.jsonl>: give --out');
  return jsonl;
}

/** Runs exportStream, naming an --out that appeared since checkOut (EEXIST) as such. */
async function streamTo(reader: LedgerReader, options: ExportOptions, out: string) {
  try {
    return await exportStream(reader, options, out);
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code === 'EEXIST')
      throw new UsageError(
        `--out ${out} already exists; choose another name or remove it (export never overwrites)`,
      );
    throw err;
  }
}

/** The line saying what was exported where. */
function exported(
  m: BundleManifest,
  segment: { index: number } | undefined,
  arg: string,
  where: string,
): string {
  return (
    `exported ${m.entryCount} record(s) of ${m.origin} (${segment ? `segment ${segment.index} of ${arg}, ` : ''}seq ${m.firstSeq}..${m.lastSeq}${m.withheld > 0 ? `, ${m.withheld} withheld` : ''}) ` +
    `against the checkpoint at size ${m.checkpoint.size} to ${where}`
  );
}

/** Runs writeBundle, naming a file that appeared since checkOut (EEXIST) as such. */
function written(write: () => string[], out: string, flag = '--out'): string[] {
  try {
    return write();
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code === 'EEXIST')
      throw new UsageError(
        `${flag} ${out} already exists; choose another name or remove it (export never overwrites)`,
      );
    throw err;
  }
}

/** The selection as the user typed it, for the manifest (values only, in a stable order). */
function describeSelection(values: FilterValues): string[] {
  const out: string[] = [];
  for (const name of ['segment', 'seq', 'since', 'from', 'to', 'level', 'grep'] as const) {
    const v = values[name];
    if (v !== undefined) out.push(`--${name} ${v}`);
  }
  for (const w of values.where ?? []) out.push(`--where ${w}`);
  return out;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write an evidence bundle (records + proofs + signed checkpoint) for an auditor',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...KEY_OPTIONS,
        out: { type: 'string' },
        html: { type: 'string' },
        anchor: { type: 'string' },
        format: { type: 'string' },
        progress: { type: 'boolean' },
        ...FILTER_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError(LEDGER_ARG);
    const { out, html } = values;
    const stream = streamed(values.format, out, html);
    if (out === undefined && html === undefined)
      throw new UsageError('--out <dir | file.json> or --html <file.html> is required');
    if (html !== undefined && !/\.html?$/i.test(html))
      throw new UsageError(`--html ${html} must end in .html (it is a web page to open in a browser)`);
    const keys = readKeyArgs(values, true);
    if (out !== undefined) checkOut(out, '--out', stream);
    if (html !== undefined) checkOut(html, '--html');
    const query = buildQuery(values);
    const arg = positionals[0]!;
    const segmented = isSegmentDirArg(arg);
    segmentOnlyFor(values, segmented);
    const segment = segmented ? chooseSegment(arg, query) : undefined;
    let anchorText: string | undefined;
    let anchorTimestampsText: string | undefined;
    if (values.anchor !== undefined) {
      anchorText = readInputFile(values.anchor, 'anchor file');
      // The anchor's RFC 3161 token file, when the writer keeps one (docs/timestamps.md §5).
      const tokens = anchorTimestampsPath(values.anchor);
      if (existsSync(tokens)) anchorTimestampsText = readInputFile(tokens, 'anchor token file');
    }
    const progress = progressReporter((line) => io.err(line), 'proved', { forced: values.progress ?? false });
    return withLedger(segment?.path ?? arg, async (path) => {
      const reader = new LedgerReader(path);
      try {
        const options: ExportOptions = {
          query,
          keys,
          selection: describeSelection(values),
          ...(anchorText !== undefined ? { anchorText } : {}),
          ...(anchorTimestampsText !== undefined ? { anchorTimestampsText } : {}),
          ...(progress
            ? {
                onProgress: (p) =>
                  progress({ ...p, unit: 'records', verb: p.stage === 'hashing' ? 'hashed' : 'proved' }),
              }
            : {}),
        };
        if (stream) {
          const r = await streamTo(reader, options, out!);
          for (const w of r.warnings) io.err(`warning: ${w}\n`);
          io.out(`${exported(r.manifest, segment, arg, out!)}\n  ${out}\n`);
          return EXIT_OK;
        }
        const { bundle, warnings } = exportBundle(reader, options);
        const files = out !== undefined ? written(() => writeBundle(bundle, out), out) : [];
        if (html !== undefined) {
          const page = (): string[] => {
            writeHtmlBundle(bundle, html);
            return [html];
          };
          files.push(...written(page, html, '--html'));
        }
        for (const w of warnings) io.err(`warning: ${w}\n`);
        io.out(
          `${exported(bundle.manifest, segment, arg, [out, html].filter((x) => x !== undefined).join(' and '))}\n`,
        );
        for (const f of files) io.out(`  ${f}\n`);
        return EXIT_OK;
      } finally {
        reader.close();
      }
    });
  },
};

/**
 * The one segment file a directory export reads: `--segment K` must name a
 * single segment that is present (issue 18: an evidence bundle's proofs are
 * against one segment's tree).
 * @throws UsageError saying which segments there are
 */
function chooseSegment(dir: string, q: SegmentQuery): { index: number; path: string } {
  checkHasSegments(dir);
  const present = listSegments(dir)
    .slots.filter((s) => s.file !== undefined)
    .map((s) => s.index);
  const have =
    present.length === 1
      ? `segment ${present[0]}`
      : `${present.length} segments, ${present[0]} to ${present[present.length - 1]}`;
  const one = q.segmentFrom !== undefined && q.segmentTo === q.segmentFrom + 1;
  if (!one)
    throw new UsageError(
      `${dir} is a segmented ledger (${have}); a bundle is proved against one segment's tree, so give --segment K for one segment; for records of several segments run export once per segment`,
    );
  const index = q.segmentFrom!;
  const slot = listSegments(dir).slots.find((s) => s.index === index && s.file !== undefined);
  if (!slot) throw new UsageError(`${dir} has no segment ${index} file (it holds ${have})`);
  checkSegment(dir, index, slot.file!);
  return { index, path: slot.file! };
}

/** Refuses a segment file whose row 0 is not segment `index`'s binding: the name is only where to look. */
function checkSegment(dir: string, index: number, path: string): void {
  let problem: string | undefined;
  const got = openSegment(path, index, (n) => {
    problem = n.message;
  });
  if (typeof got === 'object') got.reader.close();
  if (got === 'empty') problem = `segment ${index} holds no record yet`;
  if (problem !== undefined) throw new SealogError('E_NOT_LEDGER', `${dir}: ${problem}`);
}
