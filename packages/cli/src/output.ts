import type { StoredRecord } from '@sealog/core';
import { UsageError } from './command.js';
import { CSV_HEADER, formatCsv, formatJson, formatLine } from './format.js';

export const OUTPUT_OPTIONS = {
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
} as const;

export const OUTPUT_USAGE = `output:
      --json          each stored entry (the exact hashed JSON) on its own line
      --csv           CSV: seq,time,level,msg,fields (cells safe to open in a spreadsheet)
`;

/** Returns a function printing one record in the chosen format; writes the CSV header first. */
export function printer(
  values: { json?: boolean; csv?: boolean },
  out: (t: string) => void,
): (r: StoredRecord) => void {
  if (values.json && values.csv) throw new UsageError('choose one of --json and --csv');
  if (values.csv) {
    out(`${CSV_HEADER}\n`);
    return (r) => out(`${formatCsv(r.seq, r.ts, r.entry)}\n`);
  }
  if (values.json) return (r) => out(`${formatJson(r.seq, r.entry)}\n`);
  return (r) => out(`${formatLine(r.seq, r.ts, r.entry)}\n`);
}
