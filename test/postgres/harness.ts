// Shared by the PostgreSQL fault tests: the writer child (built packages,
// through openSink), a checkpoint key made by `sealog keygen`, `sealog verify`
// on a URL, and the after-the-fact SQL checks (gap-free seqs, every writer's
// records present exactly once, checkpoints in order).
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runBin } from '../faults/harness.js';
import { startFixture } from '../helpers/node-script.js';
import { psql } from '../helpers/postgres.js';

export { runBin };

const PG_WRITER = join(import.meta.dirname, 'fixtures', 'pg-writer.mjs');

export interface PgWriterOptions {
  url: string;
  id: string;
  count: number;
  /** Records per flush (one "ack" line each). */
  chunk?: number;
  batchSize?: number;
  keyFile?: string;
  everyRecords?: number;
  pad?: number;
  startAt?: number;
}

export interface PgWriter {
  child: ChildProcess;
  /** Records acknowledged so far (the last ack line; acks are cumulative). */
  acked(): number;
  /** The sink's counters printed after close, once the child finished. */
  stats(): { committed: number; failedCommits: number; errors: number } | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; done: boolean }>;
}

/** Starts the writer child; `onAck` runs for every acknowledgement, in order. */
export function startPgWriter(o: PgWriterOptions, onAck?: (n: number) => void): PgWriter {
  let acked = 0;
  let stats: ReturnType<PgWriter['stats']>;
  let done = false;
  const { child, exited } = startFixture(PG_WRITER, o, (l) => {
    if (l.startsWith('ack ')) {
      acked = Number(l.slice(4));
      onAck?.(acked);
    } else if (l.startsWith('stats ')) stats = JSON.parse(l.slice(6));
    else if (l === 'done') done = true;
  });
  return {
    child,
    acked: () => acked,
    stats: () => stats,
    exited: exited.then((e) => ({ ...e, done })),
  };
}

/** Waits for a writer that must finish normally, with its stderr in the failure message. */
export async function finished(w: PgWriter, name: string): Promise<void> {
  const exit = await w.exited;
  expect(exit.code, `${name} exited ${exit.code}/${exit.signal}; stderr:\n${exit.stderr}`).toBe(0);
  expect(exit.done, `${name} did not print "done"`).toBe(true);
}

/** A checkpoint key made by `sealog keygen`; `pub` is the file of its two verifier keys. */
export async function keygen(
  dir: string,
  name = 'faults.example/pg',
): Promise<{ keyFile: string; pub: string }> {
  const keyFile = join(dir, 'audit.key');
  const r = await runBin(['keygen', '--name', name, '--out', keyFile]);
  expect(r.code, r.err).toBe(0);
  const pub = join(dir, 'audit.pub');
  writeFileSync(pub, r.out);
  return { keyFile, pub };
}

export interface VerifyRun {
  code: number | null;
  report: { ok: boolean; size: number; findings: { kind: string; seq?: number }[] } | undefined;
  text: string;
}

/** `sealog verify <ledger> --key-file <pub> --strict --json`: exit code and the parsed report (if any). */
export async function verify(ledger: string, pub: string): Promise<VerifyRun> {
  const r = await runBin(['verify', ledger, '--key-file', pub, '--strict', '--json']);
  let report: VerifyRun['report'];
  try {
    report = JSON.parse(r.out) as VerifyRun['report'];
  } catch {
    report = undefined; // not JSON: a usage or I/O error, shown in `text`
  }
  return { code: r.code, report, text: `${r.out}${r.err}` };
}

/** Qualified table name of a ledger URL's schema. */
export function table(url: string, name: string): string {
  return `"${new URL(url).searchParams.get('schema') ?? 'sealog'}"."${name}"`;
}

/** Asserts seqs are exactly 0..size-1 and the state row agrees; returns size. */
export async function expectGapFree(url: string): Promise<number> {
  const [r] = await psql<{ n: number; lo: number | null; hi: number | null; size: number }>(
    url,
    `SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi,
       (SELECT size::int FROM ${table(url, 'ledger_state')} WHERE id = 0) AS size
     FROM ${table(url, 'records')}`,
  );
  expect(r, 'no row from the records table').toBeDefined();
  expect({ lo: r!.lo, hi: r!.hi, size: r!.size }).toEqual({ lo: 0, hi: r!.n - 1, size: r!.n });
  return r!.n;
}

export interface WriterCount {
  n: number;
  distinct: number;
  lo: number;
  hi: number;
  /** True when the writer's records appear in seq order in the order they were written. */
  inOrder: boolean;
}

/** Per writer id: records stored, distinct `i`, min and max `i`, and whether `i` rises with seq. */
export async function writerCounts(url: string): Promise<Map<string, WriterCount>> {
  const rows = await psql<{ w: string } & WriterCount>(
    url,
    `WITH r AS (SELECT seq, convert_from(entry, 'UTF8')::jsonb AS e FROM ${table(url, 'records')}),
          x AS (SELECT e->>'w' AS w, (e->>'i')::int AS i,
                       lag((e->>'i')::int) OVER (PARTITION BY e->>'w' ORDER BY seq) AS prev FROM r)
     SELECT w, count(*)::int AS n, count(DISTINCT i)::int AS distinct, min(i) AS lo, max(i) AS hi,
            bool_and(prev IS NULL OR i > prev) AS "inOrder"
     FROM x GROUP BY w`,
  );
  return new Map(rows.map(({ w, ...c }) => [w, c]));
}

/** Every acknowledged record of writer `id` is stored exactly once, as 0..k-1 in order; returns k. */
export function expectExactlyOnce(counts: Map<string, WriterCount>, id: string, acked: number): number {
  const c = counts.get(id) ?? { n: 0, distinct: 0, lo: 0, hi: -1, inOrder: true };
  expect(c.distinct, `${id}: duplicates (${c.n} rows, ${c.distinct} distinct)`).toBe(c.n);
  expect(c.n, `${id}: ${c.n} stored < ${acked} acknowledged`).toBeGreaterThanOrEqual(acked);
  expect({ lo: c.lo, hi: c.hi, inOrder: c.inOrder }, `${id}: not a gap-free prefix in order`).toEqual({
    lo: c.n > 0 ? 0 : c.lo,
    hi: c.n - 1,
    inOrder: true,
  });
  return c.n;
}

/** How often the writer changes from one record to the next in seq order (0 = writers ran one after another). */
export async function writerSwitches(url: string): Promise<number> {
  const [r] = await psql<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM (
       SELECT w, lag(w) OVER (ORDER BY seq) AS prev
       FROM (SELECT seq, convert_from(entry, 'UTF8')::jsonb->>'w' AS w FROM ${table(url, 'records')}) r) x
     WHERE w <> prev`,
  );
  return r!.n;
}

/** Stored checkpoint sizes in id order. */
export async function checkpointSizes(url: string): Promise<number[]> {
  const rows = await psql<{ size: string }>(url, `SELECT size FROM ${table(url, 'checkpoints')} ORDER BY id`);
  return rows.map((r) => Number(r.size));
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
