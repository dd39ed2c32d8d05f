import { SealogError } from '../errors.js';
import { sha256 } from '../hash.js';
import { toHex } from '../note/encoding.js';
import { isOid } from '../timestamp/oids.js';
import { parseTimestampToken } from '../timestamp/token.js';
import { timeAgreement } from '../verify/timestamped.js';
import { type BundleShape, decodeBundleTimestamp } from './parse.js';
import type { BundleReport, BundleTimestampResult } from './verify.js';

// What the Node check of a bundle's RFC 3161 tokens (verify-timestamps.ts) and
// the web page's (verify-timestamps-web.ts) share: the options, which note each
// token stamps, and what each outcome adds to the report. Only the token's
// signature check differs (node:crypto X.509 on Node, WebCrypto in the page), so
// both give the same report, message for message. Browser-safe: no node: imports.

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
 * Checks the mode and policy OID of the TSA options (the anchors and signers are
 * read by each platform's own certificate code, before this).
 * @throws SealogError E_CONFIG.
 */
export function checkTsaModeAndPolicy(o: BundleTsaOptions): void {
  if (o.tsa !== undefined && o.tsa !== 'best-effort' && o.tsa !== 'required')
    throw new SealogError(
      'E_CONFIG',
      `tsa must be "best-effort" or "required", got ${JSON.stringify(o.tsa)}`,
    );
  if (o.tsaPolicy !== undefined && !isOid(o.tsaPolicy))
    throw new SealogError('E_CONFIG', `tsaPolicy ${JSON.stringify(o.tsaPolicy)} is not a dotted OID`);
}

/** A token whose imprint names a verified note of the bundle: what is left is to check its signature. */
export interface StampedNote {
  label: string;
  /** The decoded bundle item: `token` (DER) and `noteSha256`, equal to the token's imprint. */
  token: Uint8Array;
  noteSha256: Uint8Array;
  size: number;
  /** The note's text, its kind, and its signed time (POSIX seconds) when that verified. */
  note: string;
  which: 'checkpoint' | 'anchor';
  time?: number;
}

/** What a token's signature check returns. */
export interface VerifiedStamp {
  tsa: string;
  genTime: Date;
  accuracyMs?: number;
}

/**
 * Collects the outcome of every token of a bundle into its report. Use:
 * for each of `stamped()`, check the signature, then `verified` (or `failed`
 * with what it threw); last, `finish()`. Never throws on bundle contents.
 */
export class BundleTimestampCheck {
  private readonly results: BundleTimestampResult[] = [];
  private checkpointStamped = false;

  constructor(
    private readonly shape: BundleShape,
    private readonly report: BundleReport,
    private readonly o: BundleTsaOptions,
  ) {}

  /** The tokens that name a verified note; the others are reported as they are met. */
  *stamped(): Generator<StampedNote> {
    const { shape, report, results } = this;
    const notes = new Map<string, { note: string; which: 'checkpoint' | 'anchor'; time?: number }>();
    const hashOf = (note: string) => toHex(sha256(new TextEncoder().encode(note)));
    shape.anchors.forEach((a, i) => {
      const note = (a as { note?: unknown } | null)?.note;
      const r = report.anchors[i];
      if (typeof note !== 'string' || !r?.ok) return;
      notes.set(hashOf(note), { note, which: 'anchor', ...(r.time !== undefined ? { time: r.time } : {}) });
    });
    if (report.checkpoint) {
      const time = report.checkpoint.time;
      notes.set(hashOf(shape.checkpoint), {
        note: shape.checkpoint,
        which: 'checkpoint',
        ...(time !== undefined ? { time } : {}),
      });
    }
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
      yield { label, token: t.token, noteSha256: t.noteSha256, size: t.size, ...target };
    }
  }

  /** The token's signature verified: its time must agree with the note's signed time. */
  verified(s: StampedNote, v: VerifiedStamp): void {
    const stamp = { tsa: v.tsa, genTimeMs: v.genTime.getTime(), accuracyMs: v.accuracyMs ?? 0 };
    const why = timeAgreement(stamp, s.time);
    this.results.push({
      note: s.which,
      size: s.size,
      ok: why === undefined,
      tsa: v.tsa,
      tsaTime: stamp.genTimeMs,
      message: why ?? `timestamped by ${v.tsa} at ${v.genTime.toISOString()}`,
    });
    if (why !== undefined) this.report.notes.push(`${s.label} for the ${s.which} note: ${why}`);
    else if (s.which === 'checkpoint') this.checkpointStamped = true;
  }

  /** The token's signature check threw `err`. */
  failed(s: StampedNote, err: unknown): void {
    this.results.push({ note: s.which, size: s.size, ok: false, message: `does not verify: ${text(err)}` });
    this.report.problems.push(
      `${s.label} for the ${s.which} note: the token does not verify under the given TSA anchors${this.o.tsaSigners !== undefined ? ' and pinned signers' : ''}: ${text(err)}`,
    );
  }

  /** Adds `timestamps` to the report, and the verdict on the checkpoint's own token. */
  finish(): void {
    const { report } = this;
    report.timestamps = this.results;
    if (!this.checkpointStamped && report.checkpoint) {
      if (this.o.tsa === 'required')
        report.problems.push(
          'the bundle checkpoint carries no valid RFC 3161 timestamp token whose time agrees with its signed time (--tsa required)',
        );
      else
        report.notes.push('The bundle checkpoint carries no valid RFC 3161 timestamp token (untimestamped).');
    }
    if (report.problems.length > 0 && report.status !== 'unreadable') report.status = 'failed';
  }
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
