import { SealogError } from '../errors.js';
import { sha256 } from '../hash.js';
import { toHex } from '../note/encoding.js';
import { isOid } from '../timestamp/oids.js';
import { parseTimestampToken } from '../timestamp/token.js';
import {
  readWebTsaSigners,
  verifyTimestampImprintWeb,
  type WebTimestampPolicy,
} from '../timestamp/verify-web.js';
import { readWebTrustAnchors } from '../timestamp/web-cert.js';
import { timeAgreement } from '../verify/timestamped.js';
import { type BundleShape, decodeBundleTimestamp } from './parse.js';
import type { BundleReport, BundleTimestampResult } from './verify.js';
import type { BundleTsaOptions } from './verify-timestamps.js';

/**
 * Checks the TSA options as checkBundleTsaOptions does (same messages), and
 * reads the anchors and pinned signers once.
 * @throws SealogError E_CONFIG.
 */
export function webBundleTsaPolicy(o: BundleTsaOptions): WebTimestampPolicy {
  const policy: WebTimestampPolicy = {
    anchors: readWebTrustAnchors(typeof o.tsaAnchors === 'string' ? [o.tsaAnchors] : [...o.tsaAnchors]),
    now: new Date(),
  };
  if (o.tsaSigners !== undefined) policy.pinned = readWebTsaSigners(o.tsaSigners);
  if (o.tsa !== undefined && o.tsa !== 'best-effort' && o.tsa !== 'required')
    throw new SealogError(
      'E_CONFIG',
      `tsa must be "best-effort" or "required", got ${JSON.stringify(o.tsa)}`,
    );
  if (o.tsaPolicy !== undefined && !isOid(o.tsaPolicy))
    throw new SealogError('E_CONFIG', `tsaPolicy ${JSON.stringify(o.tsaPolicy)} is not a dotted OID`);
  if (o.tsaPolicy !== undefined) policy.policy = o.tsaPolicy;
  return policy;
}

/**
 * Verifies every token of `shape.timestamps` against the note its imprint
 * names (the checkpoint or an anchor note) and adds `timestamps` to the
 * report, exactly as checkBundleTimestamps does on Node. Never throws on
 * bundle contents.
 * @throws SealogError E_CONFIG for bad options (before any token is read).
 */
export async function checkBundleTimestampsWeb(
  shape: BundleShape,
  report: BundleReport,
  o: BundleTsaOptions,
): Promise<void> {
  const policy = webBundleTsaPolicy(o);
  const hashOf = (note: string) => toHex(sha256(new TextEncoder().encode(note)));
  const notes = new Map<string, { which: 'checkpoint' | 'anchor'; time?: number }>();
  shape.anchors.forEach((a, i) => {
    const note = (a as { note?: unknown } | null)?.note;
    const r = report.anchors[i];
    if (typeof note !== 'string' || !r?.ok) return;
    notes.set(hashOf(note), r.time !== undefined ? { which: 'anchor', time: r.time } : { which: 'anchor' });
  });
  if (report.checkpoint) {
    const time = report.checkpoint.time;
    notes.set(
      hashOf(shape.checkpoint),
      time !== undefined ? { which: 'checkpoint', time } : { which: 'checkpoint' },
    );
  }
  const results: BundleTimestampResult[] = [];
  let checkpointStamped = false;
  for (const [i, item] of shape.timestamps.entries()) {
    const t = decodeBundleTimestamp(item);
    const label = `timestamp #${i + 1}`;
    if (!t) {
      const message = 'not { size, noteSha256, token } in base64';
      results.push({ note: 'none', size: null, ok: false, message });
      report.problems.push(`${label}: ${message}`);
      continue;
    }
    let imprint: string;
    try {
      imprint = toHex(parseTimestampToken(t.token).imprint);
    } catch (err) {
      results.push({ note: 'none', size: t.size, ok: false, message: `does not parse: ${text(err)}` });
      report.problems.push(`${label}: the token does not parse: ${text(err)}`);
      continue;
    }
    const target = notes.get(imprint);
    if (toHex(t.noteSha256) !== imprint || !target) {
      const message = 'matches no verified note of the bundle (its note is not here, or was rewritten)';
      results.push({ note: 'none', size: t.size, ok: false, message });
      report.notes.push(`${label} (size ${t.size}) ${message}`);
      continue;
    }
    try {
      const v = await verifyTimestampImprintWeb(t.token, t.noteSha256, policy);
      const stamp = { tsa: v.tsa, genTimeMs: v.genTime.getTime(), accuracyMs: v.accuracyMs ?? 0 };
      const why = timeAgreement(stamp, target.time);
      results.push({
        note: target.which,
        size: t.size,
        ok: why === undefined,
        tsa: v.tsa,
        tsaTime: stamp.genTimeMs,
        message: why ?? `timestamped by ${v.tsa} at ${v.genTime.toISOString()}`,
      });
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
