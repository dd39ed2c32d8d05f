import type Database from 'better-sqlite3';
import type { ScanResult } from './scan.js';
import type { Finding } from './types.js';

// ledger_state is the writer's summary of the rows (format.md §3). It is not
// signed, so a match proves nothing; a mismatch shows an edit that did not
// keep the summary in step (or a crash mid-edit by hand). Someone who
// re-chains every row and rewrites this row too is caught only by
// checkpoint signatures.

/**
 * Compares `ledger_state` with what the scan recomputed. Returns the stored
 * size when it is a usable integer (classify uses it) and the findings.
 * @throws only what better-sqlite3 throws on a damaged file.
 */
export function checkState(
  db: Database.Database,
  scan: ScanResult,
): { size: number | undefined; findings: Finding[] } {
  const findings: Finding[] = [];
  const add = (message: string) =>
    findings.push({ kind: 'state-mismatch', message: `ledger_state: ${message}` });
  const rows = db
    .prepare('SELECT size, chain_head, compact FROM ledger_state WHERE id = 0')
    .raw(true)
    .all() as unknown[][];
  const row = rows[0];
  if (!row) {
    add('the row is missing');
    return { size: undefined, findings };
  }
  const [size, head, compact] = row;
  const usable = typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  const fileSize = scan.lastSeq + 1;
  if (usable === undefined) add(`size is ${String(size)}, not a non-negative integer`);
  else if (usable !== fileSize) {
    add(
      `records ${usable < fileSize ? 'were added after' : 'are missing from'} the end the writer recorded (state size ${usable}, last row ${scan.lastSeq})`,
    );
  }
  if (!Buffer.isBuffer(head) || !head.equals(scan.lastChain)) {
    add('chain_head is not the stored chain of the last row');
  }
  // The compact range is a function of the leaves; only comparable when no rows are missing.
  if (fileSize === scan.rows && (!Buffer.isBuffer(compact) || !compact.equals(scan.compact))) {
    add('the stored Merkle state (compact) does not match the records');
  }
  return { size: usable, findings };
}
