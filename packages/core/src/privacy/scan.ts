// Finders for personal data and secrets inside free text. Log messages are
// attacker-influenced (a user name, a header echoed into an error), so every
// finder runs in time linear in the text: each one anchors on a cheap
// character test and walks maximal runs by hand, never a regex whose
// quantified run can be re-tried from many start positions (the backtracking
// that makes /[\w.]+@[\w.]+\.\w+/ quadratic on a long run of letters). The
// only regexes applied are anchored to a single, already delimited run.

import { parseIPv6 } from './ip.js';

export type ScrubKind = 'email' | 'ip' | 'card' | 'token' | 'jwt';
export const SCRUB_KINDS: readonly ScrubKind[] = ['email', 'ip', 'card', 'token', 'jwt'];

/** A match: [start, end) in UTF-16 units of the scanned text. */
export interface Span {
  start: number;
  end: number;
  kind: ScrubKind;
}

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOCAL = table(`${ALNUM}.!#$%&*+/=?^_{|}~-`);
const DOMAIN = table(`${ALNUM}.-`);
const WORD = table(`${ALNUM}_`);
const HEXIP = table('0123456789abcdefABCDEF:.');
const B64URL = table(`${ALNUM}_-`);
// No '=': it separates key=value; base64 padding is taken separately after the run.
const TOKEN = table(`${ALNUM}_+/-`);
const BEARER_TOKEN = table(`${ALNUM}._~+/=-`);

const inT = (t: Uint8Array, c: number) => c < 128 && t[c] === 1;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Index after the maximal run of `t` characters starting at `i`. */
function runEnd(s: string, i: number, t: Uint8Array): number {
  let j = i;
  while (j < s.length && inT(t, s.charCodeAt(j))) j++;
  return j;
}

/** E-mail: local@domain where the domain has >= 2 labels and an alphabetic TLD. */
export function findEmails(s: string, out: Span[]): void {
  let from = 0;
  for (let at = s.indexOf('@'); at >= 0; at = s.indexOf('@', from)) {
    // '@' is in neither class, so the walks of successive '@'s never overlap: linear.
    let l = at;
    while (l > 0 && inT(LOCAL, s.charCodeAt(l - 1))) l--;
    while (l < at && s[l] === '.') l++;
    let r = runEnd(s, at + 1, DOMAIN);
    while (r > at + 1 && (s[r - 1] === '.' || s[r - 1] === '-')) r--;
    if (l < at && validDomain(s.slice(at + 1, r))) {
      out.push({ start: l, end: r, kind: 'email' });
      from = r;
    } else {
      from = at + 1;
    }
  }
}

function validDomain(d: string): boolean {
  const labels = d.split('.');
  if (labels.length < 2) return false;
  for (const l of labels)
    if (l.length === 0 || l.length > 63 || l.startsWith('-') || l.endsWith('-')) return false;
  return /^[A-Za-z]{2,63}$/.test(labels[labels.length - 1] as string);
}

/** Dotted-quad IPv4 (leading zeros tolerated: over-matching is the safe side here). */
export function findIPv4(s: string, out: Span[]): void {
  for (let i = 0; i < s.length; i++) {
    if (!isDigit(s.charCodeAt(i))) continue;
    const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
    if (isDigit(prev) || prev === 46) continue;
    let p = i;
    let ok = true;
    for (let g = 0; g < 4 && ok; g++) {
      const st = p;
      while (p < s.length && p - st < 3 && isDigit(s.charCodeAt(p))) p++;
      if (p === st || Number(s.slice(st, p)) > 255) ok = false;
      else if (g < 3) {
        if (s[p] === '.') p++;
        else ok = false;
      }
    }
    // A longer number or a fifth group means this is not an address (a version, an OID).
    if (!ok || isDigit(s.charCodeAt(p)) || (s[p] === '.' && isDigit(s.charCodeAt(p + 1)))) continue;
    out.push({ start: i, end: p, kind: 'ip' });
    i = p - 1;
  }
}

/** IPv6 text (RFC 4291 §2.2) delimited by non-word characters. */
export function findIPv6(s: string, out: Span[]): void {
  for (let i = 0; i < s.length; ) {
    if (!inT(HEXIP, s.charCodeAt(i))) {
      i++;
      continue;
    }
    const runStart = i;
    const runStop = runEnd(s, i, HEXIP);
    i = runStop;
    let a = runStart;
    let b = runStop;
    // A single leading ':' is a separator ("ip:2001:db8::1"); '::' belongs to the address.
    if (s[a] === ':' && s[a + 1] !== ':') a++;
    while (b > a && s[b - 1] === '.') b--;
    if (b - a >= 2 && s[b - 1] === ':' && s[b - 2] !== ':') b--;
    if (b - a < 3 || b - a > 45) continue;
    const before = a > 0 ? s.charCodeAt(a - 1) : 0;
    const after = b < s.length ? s.charCodeAt(b) : 0;
    // "std::vector" or "Foo::Bar" must not read as "d::" or "::Ba".
    if (inT(WORD, before) || inT(WORD, after)) continue;
    const cand = s.slice(a, b);
    if (cand.indexOf(':') === cand.lastIndexOf(':')) continue;
    if (!/[0-9a-fA-F]/.test(cand) || !parseIPv6(cand)) continue;
    out.push({ start: a, end: b, kind: 'ip' });
  }
}

/**
 * Payment card numbers: 13-19 digits, optionally in groups separated by one
 * space or dash, first digit 2-6 (the ISO/IEC 7812 industries of card
 * issuers, which also keeps epoch-millisecond timestamps out), Luhn-valid. A
 * digit run longer than 19 is one number, not a card.
 */
export function findCards(s: string, out: Span[]): void {
  for (let i = 0; i < s.length; i++) {
    if (!isDigit(s.charCodeAt(i)) || (i > 0 && isDigit(s.charCodeAt(i - 1)))) continue;
    const groups: [number, number][] = [];
    let p = i;
    for (;;) {
      const st = p;
      while (p < s.length && isDigit(s.charCodeAt(p))) p++;
      groups.push([st, p]);
      if ((s[p] === ' ' || s[p] === '-') && isDigit(s.charCodeAt(p + 1))) p++;
      else break;
    }
    let g = 0;
    while (g < groups.length) {
      let best = -1;
      let digits = '';
      for (let h = g; h < groups.length; h++) {
        const [st, en] = groups[h] as [number, number];
        digits += s.slice(st, en);
        if (digits.length > 19) break;
        if (digits.length >= 13 && digits[0]! >= '2' && digits[0]! <= '6' && luhn(digits)) best = h;
      }
      if (best >= 0) {
        out.push({
          start: (groups[g] as [number, number])[0],
          end: (groups[best] as [number, number])[1],
          kind: 'card',
        });
        g = best + 1;
      } else g++;
    }
    i = p - 1;
  }
}

/** Luhn mod-10 check (ISO/IEC 7812-1 Annex B). */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, dbl = false; i >= 0; i--, dbl = !dbl) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** JWS compact form: eyJ<b64url>.eyJ<b64url>.<b64url, possibly empty>. */
export function findJwts(s: string, out: Span[]): void {
  let from = 0;
  for (let i = s.indexOf('eyJ', from); i >= 0; i = s.indexOf('eyJ', from)) {
    const e1 = runEnd(s, i, B64URL);
    // Any later "eyJ" inside [i, e1) ends its first segment at e1 too, so it would fail the same way.
    from = e1;
    if (s[e1] !== '.' || !s.startsWith('eyJ', e1 + 1)) continue;
    const e2 = runEnd(s, e1 + 1, B64URL);
    if (s[e2] !== '.') continue;
    const e3 = runEnd(s, e2 + 1, B64URL);
    out.push({ start: i, end: e3, kind: 'jwt' });
    from = e3;
  }
}

const BEARER = /\bbearer[ \t]+/gi;
const KNOWN_KEYS = [
  /^(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/, // Stripe
  /^gh[pousr]_[A-Za-z0-9]{30,}/, // GitHub
  /^github_pat_[A-Za-z0-9_]{30,}/,
  /^xox[abposr]-[A-Za-z0-9-]{10,}/, // Slack
  /^(?:AKIA|ASIA)[A-Z0-9]{16}$/, // AWS access key ID
  /^AIza[A-Za-z0-9_-]{35}$/, // Google API key
  /^glpat-[A-Za-z0-9_-]{20,}/, // GitLab
  /^npm_[A-Za-z0-9]{36}$/,
];

/**
 * Secrets: the credential after "Bearer " (8+ chars with a non-letter, so
 * "the bearer instrument" stays), known API-key formats, hex runs of 48+
 * digits, and base64/base64url runs of 32+ characters mixing upper case,
 * lower case and digits. UUIDs, 32-hex trace IDs and 40-hex commit IDs are
 * deliberately not matched.
 */
export function findTokens(s: string, out: Span[]): void {
  BEARER.lastIndex = 0;
  for (let m = BEARER.exec(s); m !== null; m = BEARER.exec(s)) {
    const a = BEARER.lastIndex;
    const b = runEnd(s, a, BEARER_TOKEN);
    if (b - a >= 8 && /[^A-Za-z]/.test(s.slice(a, b))) out.push({ start: a, end: b, kind: 'token' });
  }
  for (let i = 0; i < s.length; ) {
    if (!inT(TOKEN, s.charCodeAt(i))) {
      i++;
      continue;
    }
    let e = runEnd(s, i, TOKEN);
    if (s[e] === '=') e += s[e + 1] === '=' ? 2 : 1;
    if (e - i >= 20 && isSecretLike(s.slice(i, e))) out.push({ start: i, end: e, kind: 'token' });
    i = e;
  }
}

function isSecretLike(run: string): boolean {
  for (const re of KNOWN_KEYS) if (re.test(run)) return true;
  if (run.length >= 48 && /^[0-9a-fA-F]+$/.test(run)) return true;
  return run.length >= 32 && /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run);
}

const FINDERS: Record<ScrubKind, ((s: string, out: Span[]) => void)[]> = {
  email: [findEmails],
  ip: [findIPv6, findIPv4],
  card: [findCards],
  token: [findTokens],
  jwt: [findJwts],
};
const PRIORITY: Record<ScrubKind, number> = { jwt: 0, email: 1, card: 2, token: 3, ip: 4 };

/**
 * All matches of `kinds`, in text order. Overlapping matches are merged into
 * one span (kind of the earliest, then longest): everything any finder matched
 * is replaced, even if that over-scrubs (an IP glued to a card number).
 */
export function scan(s: string, kinds: readonly ScrubKind[]): Span[] {
  const spans: Span[] = [];
  for (const k of kinds) for (const f of FINDERS[k]) f(s, spans);
  if (spans.length < 2) return spans;
  spans.sort((x, y) => x.start - y.start || y.end - x.end || PRIORITY[x.kind] - PRIORITY[y.kind]);
  const kept: Span[] = [];
  let end = -1;
  for (const sp of spans) {
    const last = kept[kept.length - 1];
    if (last && sp.start < end) {
      if (sp.end > end) last.end = end = sp.end;
    } else {
      kept.push({ ...sp });
      end = sp.end;
    }
  }
  return kept;
}
