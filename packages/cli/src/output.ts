import type { StoredRecord } from '@sealog/core';
import { UsageError } from './command.js';
import { CSV_HEADER, formatCsv, formatJson, SEGMENT_CSV_HEADER, type SegmentPlace } from './format.js';
import { formatCat, formatShort, SHORT_VALUE_MAX } from './pretty.js';

/** The `-o` modes, after journalctl's `-o short|json|cat`. */
export const OUTPUT_MODES = ['short', 'json', 'cat', 'csv'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

export const OUTPUT_OPTIONS = {
  output: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
} as const;

export const OUTPUT_USAGE = `output:
  -o, --output MODE   short (default): #seq time LEVEL message key=value …, one line
                      per record, values over ${SHORT_VALUE_MAX} characters cut with …, coloured
                      by level when stdout is a terminal and NO_COLOR is not set
                      json: one JSON object per line: "seq" first (for a
                      segment directory "seq", "segment", "position"), then
                      the stored entry's own members, byte for byte as hashed
                      cat: the message only
                      csv: seq,time,level,msg,fields (a segment directory:
                      segment,seq,position,time,…) (RFC 4180; cells starting
                      with = + - @ tab or CR get a leading ')
      --json          same as -o json
      --csv           same as -o csv
  short, cat and csv show control characters, bidi controls and terminal
  escapes from records as visible \\x.. / \\u.... text; json keeps the stored
  JSON, in which control characters are JSON escapes. Only short is coloured.
`;

type OutputValues = { output?: string; json?: boolean; csv?: boolean };

/** The chosen mode; --json and --csv are -o json and -o csv. */
export function outputMode(values: OutputValues): OutputMode {
  const o = values.output;
  if (o !== undefined && !(OUTPUT_MODES as readonly string[]).includes(o))
    throw new UsageError(`-o must be one of ${OUTPUT_MODES.join(', ')}; got "${o}"`);
  const asked = new Set([o, values.json ? 'json' : undefined, values.csv ? 'csv' : undefined]);
  asked.delete(undefined);
  if (asked.size > 1)
    throw new UsageError(
      `choose one output mode, got ${[...asked].join(' and ')} (--json is -o json, --csv is -o csv)`,
    );
  return ([...asked][0] as OutputMode | undefined) ?? 'short';
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything but "" (no-color.org). */
export function useColor(
  stream: { isTTY?: boolean } = process.stdout,
  env: Record<string, string | undefined> = process.env,
): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

/** A record to print: a segmented ledger's also carries its segment and position. */
export type PrintedRecord = StoredRecord & Partial<SegmentPlace>;

const placeOf = (r: PrintedRecord): SegmentPlace | undefined =>
  r.segment !== undefined && r.position !== undefined
    ? { segment: r.segment, position: r.position }
    : undefined;

/**
 * Returns a function printing one record in the chosen mode; writes the CSV
 * header first. `segmented`: the records come from a segment directory, so
 * each line names its segment (`#K:seq`, and json/csv members segment, position).
 */
export function printer(
  values: OutputValues,
  out: (t: string) => void,
  color = false,
  segmented = false,
): (r: PrintedRecord) => void {
  switch (outputMode(values)) {
    case 'csv':
      out(`${segmented ? SEGMENT_CSV_HEADER : CSV_HEADER}\n`);
      return (r) => out(`${formatCsv(r.seq, r.ts, r.entry, placeOf(r))}\n`);
    case 'json':
      return (r) => out(`${formatJson(r.seq, r.entry, placeOf(r))}\n`);
    case 'cat':
      return (r) => out(`${formatCat(r.entry)}\n`);
    default:
      return (r) =>
        out(
          `${formatShort(r.segment !== undefined ? `${r.segment}:${r.seq}` : r.seq, r.ts, r.entry, color)}\n`,
        );
  }
}
