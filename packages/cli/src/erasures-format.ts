import type { VerifyReport } from '@sealog/core';
import { escapeTerminal } from './format.js';

/** Most erasures printed in the human report; `--json` lists them all (up to the report's bound). */
const MAX_PRINTED = 50;

/** The verify report's erasures, one line each (docs/lifecycle.md "Erasure of a record's body"). */
export function formatErasures(r: VerifyReport): string {
  const list = r.erasures ?? [];
  if (list.length === 0) return '';
  const total = list.length + (r.omittedErasures ?? 0);
  let out = `erasures: ${total} record(s) named by signed erasure statements\n`;
  for (const e of list.slice(0, MAX_PRINTED)) {
    const when = new Date(e.time);
    const at = Number.isFinite(when.getTime()) ? when.toISOString() : String(e.time);
    out += `  row ${e.seq}: ${e.erased ? 'erased' : 'authorised, body still present'} by the statement at ${e.segment !== undefined ? `segment ${e.segment} row ${e.statement}` : `entry ${e.statement}`} (${at}): ${escapeTerminal(e.reason)}\n`;
  }
  if (total > MAX_PRINTED) out += `  … and ${total - MAX_PRINTED} more (--json lists them)\n`;
  return out;
}
