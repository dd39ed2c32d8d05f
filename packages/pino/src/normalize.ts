// pino hands the worker already-serialised JSON lines, shaped by the app's own
// config: `level` is a number unless `formatters.level` turned it into a label,
// the message sits under `messageKey`, and custom levels add labels the worker
// cannot guess. The ledger stores one shape regardless (docs/transports.md,
// "What is stored"), so reports and `sealog tail` need no per-app config.

/** What `expectPinoConfig` delivers from the main thread (pino's `levels` mapping and keys). */
export interface PinoConfig {
  levels?: { labels?: Record<string, string>; values?: Record<string, number> } | undefined;
  messageKey?: string | undefined;
}

/** pino's default mapping, used when the transport runs without `expectPinoConfig` data. */
const DEFAULT_LABELS: Record<string, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * Returns the record in the stored shape: `level` a number, `levelLabel` its
 * label (custom levels included), the message under `msg`. Mutates and returns
 * `record`, which the worker parsed from a line and owns alone.
 */
export function normalizeRecord(
  record: Record<string, unknown>,
  config: PinoConfig,
): Record<string, unknown> {
  const labels = config.levels?.labels ?? DEFAULT_LABELS;
  const values = config.levels?.values;
  const level = record.level;
  if (typeof level === 'number') {
    const label = labels[String(level)];
    if (label !== undefined && !Object.hasOwn(record, 'levelLabel')) record.levelLabel = label;
  } else if (typeof level === 'string' && values !== undefined && Object.hasOwn(values, level)) {
    // `formatters.level` emitted the label: store the number too, as pino would by default.
    record.levelLabel = level;
    record.level = values[level];
  }
  const key = config.messageKey;
  if (key !== undefined && key !== 'msg' && Object.hasOwn(record, key) && !Object.hasOwn(record, 'msg')) {
    record.msg = record[key];
    delete record[key];
  }
  return record;
}
