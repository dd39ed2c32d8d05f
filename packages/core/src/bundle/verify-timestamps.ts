import { createHash } from 'node:crypto';
import { SealogError } from '../errors.js';
import { readTrustAnchors } from '../timestamp/certs.js';
import { readTsaSigners } from '../timestamp/chain.js';
import { isOid } from '../timestamp/oids.js';
import { parseTimestampToken } from '../timestamp/token.js';
import { verifyTimestampToken } from '../timestamp/verify.js';
import { timeAgreement } from '../verify/timestamped.js';
import { type BundleShape, decodeBundleTimestamp } from './parse.js';
import type { BundleReport, BundleTimestampResult } from './verify.js';

// The RFC 3161 tokens a bundle carries (docs/evidence.md, docs/verify.md §1.5),
// checked on Node only: X.509 chain validation needs node:crypto, which the
// browser verifier has no equivalent of, so verifyBundle (shared with the web
// page) stays as it is and this runs after it in verifyBundlePath.

/** The TSA options of `sealog verify-bundle`. */
export interface BundleTsaOptions {
  /** PEM text of the TSA root certificate(s) trusted. */
  tsaAnchors: string | readonly string[];
  /**
   * PEM text of the TSA signing certificate(s) pinned (`--tsa-signer`): a token
   * counts only if signed by one of them, byte for byte. Default: any TSA under the anchors.
   */
  tsaSigners?: string | readonly string[];
  /** `required`: the bundle checkpoint must carry a valid, timely token. Default `best-effort`. */
  tsa?: 'best-effort' | 'required';
  /** TSA policy OID every token must carry. */
  tsaPolicy?: string;
}

/**
 * Checks the TSA options before anything is read.
 * @throws SealogError E_CONFIG (no PEM certificate, a pinned signer that is
 *   not a timestamping certificate, a bad mode or policy).
 */
export function checkBundleTsaOptions(o: BundleTsaOptions): void {
  readTrustAnchors(typeof o.tsaAnchors === 'string' ? [o.tsaAnchors] : [...o.tsaAnchors]);
  if (o.tsaSigners !== undefined) readTsaSigners(o.tsaSigners);
  if (o.tsa !== undefined && o.tsa !== 'best-effort' && o.tsa !== 'required')
    throw new SealogError(
      'E_CONFIG',
      `tsa must be "best-effort" or "required", got ${JSON.stringify(o.tsa)}`,
    );
  if (o.tsaPolicy !== undefined && !isOid(o.tsaPolicy))
    throw new SealogError('E_CONFIG', `tsaPolicy ${JSON.stringify(o.tsaPolicy)} is not a dotted OID`);
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/**
 * Verifies every token of `shape.timestamps` against the note its imprint
 * names (the checkpoint or an anchor note) under the given anchors, and adds
 * `timestamps` to the report. A token that does not verify is a problem; under
 * `required`, so is a bundle checkpoint without a valid, timely token. Never
 * throws on bundle contents.
 */
export function checkBundleTimestamps(shape: BundleShape, report: BundleReport, o: BundleTsaOptions): void {
  const notes = new Map<string, { note: string; which: 'checkpoint' | 'anchor'; time?: number }>();
  shape.anchors.forEach((a, i) => {
    const note = (a as { note?: unknown } | null)?.note;
    const r = report.anchors[i];
    if (typeof note !== 'string' || !r?.ok) return;
    const entry: { note: string; which: 'anchor'; time?: number } = { note, which: 'anchor' };
    if (r.time !== undefined) entry.time = r.time;
    notes.set(sha256(note), entry);
  });
  if (report.checkpoint) {
    const entry: { note: string; which: 'checkpoint'; time?: number } = {
      note: shape.checkpoint,
      which: 'checkpoint',
    };
    if (report.checkpoint.time !== undefined) entry.time = report.checkpoint.time;
    notes.set(sha256(shape.checkpoint), entry);
  }
  const results: BundleTimestampResult[] = [];
  let checkpointStamped = false;
  for (const [i, item] of shape.timestamps.entries()) {
    const t = decodeBundleTimestamp(item);
    const label = `timestamp #${i + 1}`;
    if (!t) {
      results.push({
        note: 'none',
        size: null,
        ok: false,
        message: 'not { size, noteSha256, token } in base64',
      });
      report.problems.push(`${label}: not { size, noteSha256, token } in base64`);
      continue;
    }
    let imprint: string;
    try {
      imprint = Buffer.from(parseTimestampToken(t.token).imprint).toString('hex');
    } catch (err) {
      results.push({ note: 'none', size: t.size, ok: false, message: `does not parse: ${text(err)}` });
      report.problems.push(`${label}: the token does not parse: ${text(err)}`);
      continue;
    }
    const target = notes.get(imprint);
    if (Buffer.from(t.noteSha256).toString('hex') !== imprint || !target) {
      const message = 'matches no verified note of the bundle (its note is not here, or was rewritten)';
      results.push({ note: 'none', size: t.size, ok: false, message });
      report.notes.push(`${label} (size ${t.size}) ${message}`);
      continue;
    }
    try {
      const v = verifyTimestampToken(t.token, new TextEncoder().encode(target.note), {
        trustAnchors: o.tsaAnchors,
        ...(o.tsaSigners !== undefined ? { signers: o.tsaSigners } : {}),
        ...(o.tsaPolicy !== undefined ? { policy: o.tsaPolicy } : {}),
      });
      const stamp = { tsa: v.tsa, genTimeMs: v.genTime.getTime(), accuracyMs: v.accuracyMs ?? 0 };
      const why = timeAgreement(stamp, target.time);
      const r: BundleTimestampResult = {
        note: target.which,
        size: t.size,
        ok: why === undefined,
        tsa: v.tsa,
        tsaTime: stamp.genTimeMs,
        message: why ?? `timestamped by ${v.tsa} at ${v.genTime.toISOString()}`,
      };
      results.push(r);
      if (why !== undefined) report.notes.push(`${label} for the ${target.which} note: ${why}`);
      else if (target.which === 'checkpoint') checkpointStamped = true;
    } catch (err) {
      results.push({ note: target.which, size: t.size, ok: false, message: `does not verify: ${text(err)}` });
      report.problems.push(
        `${label} for the ${target.which} note: the token does not verify under the given TSA anchors${o.tsaSigners !== undefined ? ' and pinned signers' : ''}: ${text(err)}`,
      );
    }
  }
  report.timestamps = results;
  if (!checkpointStamped && report.checkpoint) {
    if (o.tsa === 'required')
      report.problems.push(
        'the bundle checkpoint carries no valid RFC 3161 timestamp token whose time agrees with its signed time (--tsa required)',
      );
    else
      report.notes.push('The bundle checkpoint carries no valid RFC 3161 timestamp token (untimestamped).');
  }
  if (report.problems.length > 0 && report.status !== 'unreadable') report.status = 'failed';
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
