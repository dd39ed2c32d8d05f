// What a run left on disk, counted from the files themselves: a benchmark that
// reports records/s must also say how many of the records it logged were
// stored, and how many were shed and accounted for by sealed gap records
// (issue 15: "benchmarks that tell the truth"). Measures; asserts nothing.
import { createReadStream } from 'node:fs';
import Database from 'better-sqlite3';

const hex = (s) => Buffer.from(s).toString('hex');
/** Entries holding `"_sealog"` or `"unparsedLine"` anywhere; only those are parsed (both keys are top-level). */
const MAYBE_SPECIAL = `SELECT entry FROM records
  WHERE instr(entry, X'${hex('"_sealog"')}') > 0 OR instr(entry, X'${hex('"unparsedLine"')}') > 0`;

/**
 * Counts a ledger's rows (opened read-only) and its gap records: entries whose
 * top-level `_sealog.gap` exists, format
 * `{"_sealog":{"gap":{"reason":…,"records":n,"levels":{…},"first":ms,"last":ms}},…}`.
 * `stored` counts every row, `appRecords` the rows that are not gap records,
 * `shed` the sum of the gap records' `records`. `unparsed` counts rows the
 * transport stored as `{ time, unparsedLine }` (a line that was not a JSON
 * object); a benchmark logs none, so any there are the transport's doing.
 */
export function countLedger(path) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const stored = db.prepare('SELECT count(*) FROM records').pluck().get();
    let gapRecords = 0;
    let shed = 0;
    let unparsed = 0;
    const byReason = {};
    for (const entry of db.prepare(MAYBE_SPECIAL).pluck().iterate()) {
      let record;
      try {
        record = JSON.parse(Buffer.from(entry).toString('utf8'));
      } catch {
        continue; // not JSON: neither kind (a benchmark ledger should not hold one)
      }
      if (record !== null && typeof record === 'object' && 'unparsedLine' in record) unparsed++;
      const gap = record?._sealog?.gap;
      if (gap === undefined || gap === null) continue;
      gapRecords++;
      const n = Number.isSafeInteger(gap.records) ? gap.records : 0;
      shed += n;
      byReason[gap.reason] = (byReason[gap.reason] ?? 0) + n;
    }
    return { stored, appRecords: stored - gapRecords, gapRecords, shed, byReason, unparsed };
  } finally {
    db.close();
  }
}

/** Lines in a JSON-lines file (pino/file, winston File): the records the peer stored. */
export async function countLines(path) {
  let n = 0;
  for await (const chunk of createReadStream(path)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/**
 * The accounting columns of a table row: stored (gap records excluded), shed,
 * what neither explains, and for a ledger the stored rows that are unparsed lines.
 */
export function accounted(logged, { appRecords, shed = 0, unparsed }) {
  return {
    logged,
    stored: appRecords,
    shed,
    unaccounted: logged - appRecords - shed,
    'unparsed rows': unparsed ?? '', // blank for a file
  };
}
