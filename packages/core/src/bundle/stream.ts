import { once } from 'node:events';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { SealogError } from '../errors.js';
import type { LedgerReader } from '../store/reader.js';
import { type ExportOptions, prepareExport } from './export.js';
import type { BundleManifest } from './types.js';

// The JSON Lines form of an evidence bundle (docs/evidence.md, "Streamed
// export"): line 1 is the bundle without its records and README, typed
// STREAM_TYPE; then one line per record, exactly a bundle entry, in seq order.
// It is written as it is proved, through a file stream that is waited on when
// full, so a million-record export never holds more than a chunk of output.

/** `type` of a streamed bundle's first line. */
export const STREAM_TYPE = 'sealog/evidence-stream/v1';

/** Bytes gathered before one write to the file (fewer, larger writes). */
const CHUNK_BYTES = 64 * 1024;

/** Resolves when `file` drains, or closes (after an error, which its own listener records). */
function drained(file: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      file.off('drain', done);
      file.off('close', done);
      resolve();
    };
    file.on('drain', done);
    file.on('close', done);
  });
}

/** What a streamed export wrote. */
export interface StreamExportResult {
  manifest: BundleManifest;
  warnings: string[];
  /** Bytes written. */
  bytes: number;
}

/**
 * Exports like exportBundle, written as JSON Lines to a new file `out`
 * (created exclusively: never overwrites). Output memory is bounded by one
 * chunk and the stream's buffer; the file is removed if the export fails.
 * @throws as exportBundle, before `out` is created; SealogError E_IO naming
 *   `out` (exists, not writable), with `cause.code` EEXIST for an existing file.
 */
export async function exportStream(
  reader: LedgerReader,
  options: ExportOptions,
  out: string,
): Promise<StreamExportResult> {
  const { header, warnings, entries } = prepareExport(reader, options);
  const file = createWriteStream(out, { flags: 'wx' });
  let failed: unknown;
  file.on('error', (err) => {
    failed ??= err;
  });
  let bytes = 0;
  let chunk: string[] = [];
  let size = 0;
  const flush = async () => {
    const text = chunk.join('');
    chunk = [];
    size = 0;
    bytes += Buffer.byteLength(text);
    // Backpressure: when the stream's buffer is full, wait until it drains (or fails).
    if (!file.write(text) && failed === undefined) await drained(file);
    if (failed !== undefined) throw failed;
  };
  const line = async (value: unknown) => {
    const text = `${JSON.stringify(value)}\n`;
    chunk.push(text);
    size += text.length;
    if (size >= CHUNK_BYTES) await flush();
  };
  try {
    await once(file, 'open');
    await line({ ...header, type: STREAM_TYPE });
    for (const e of entries()) await line(e);
    await flush();
    file.end();
    await once(file, 'close');
    if (failed !== undefined) throw failed;
  } catch (err) {
    file.destroy();
    const code = (err as { code?: unknown }).code;
    // Ours to remove unless it was there before (EEXIST: the open itself failed).
    if (code !== 'EEXIST') rmSync(out, { force: true });
    // File system errors name the file; anything else (a SealogError, a callback's) goes on as it is.
    if (err instanceof SealogError || typeof code !== 'string') throw err;
    throw new SealogError('E_IO', `cannot write the bundle to ${out}`, { cause: err });
  }
  return { manifest: header.manifest, warnings, bytes };
}
