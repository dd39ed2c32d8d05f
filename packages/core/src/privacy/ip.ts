// Strict IP address parsing and prefix truncation. Input is whatever a client
// sent (X-Forwarded-For, log text), so parsers return undefined for anything
// malformed instead of throwing, and never accept the lax forms inet_aton
// does ("1.2.3", "0x7f.1", "010.0.0.1"), which would make the truncation
// ambiguous.
//
// Hand-written rather than ipaddr.js (issue 19 asked): ipaddr.js parses the
// inet_aton forms on purpose (its IPv4 grammar takes octal, hex and 1-3 part
// addresses, `192.168.007.0xa` is valid to it) and keeps IPv6 zone IDs, so
// every call would need its own strictness checks in front; what is left
// (split, range-check, mask a prefix) is this file, tested form by form in
// ip.test.ts.

/** Four octets, or undefined if `s` is not exactly dotted-decimal IPv4. */
export function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // 1-3 digits, no leading zero (it would read as octal elsewhere).
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/**
 * Eight 16-bit groups, or undefined if `s` is not an RFC 4291 §2.2 IPv6 text
 * address (with `::` compression and an optional dotted IPv4 tail). A zone
 * (`%eth0`) is accepted and dropped.
 */
export function parseIPv6(s: string): number[] | undefined {
  let t = s;
  const pct = t.indexOf('%');
  if (pct >= 0) {
    if (!/^%[A-Za-z0-9_.-]{1,64}$/.test(t.slice(pct))) return undefined;
    t = t.slice(0, pct);
  }
  if (t.length < 2 || t.length > 45) return undefined;
  const dbl = t.indexOf('::');
  if (dbl >= 0 && t.indexOf('::', dbl + 1) >= 0) return undefined;
  const head = dbl >= 0 ? t.slice(0, dbl) : t;
  const tail = dbl >= 0 ? t.slice(dbl + 2) : '';
  const a = groups(head);
  const b = groups(tail);
  if (!a || !b) return undefined;
  // An IPv4 tail is only allowed in the last position.
  if (a.v4 && (dbl >= 0 || b.words.length > 0)) return undefined;
  const n = a.words.length + b.words.length;
  if (dbl >= 0 ? n > 7 : n !== 8) return undefined;
  return [...a.words, ...new Array<number>(8 - n).fill(0), ...b.words];
}

function groups(s: string): { words: number[]; v4: boolean } | undefined {
  if (s === '') return { words: [], v4: false };
  const parts = s.split(':');
  const words: number[] = [];
  let v4 = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (i === parts.length - 1 && p.includes('.')) {
      const o = parseIPv4(p);
      if (!o) return undefined;
      words.push(((o[0] as number) << 8) | (o[1] as number), ((o[2] as number) << 8) | (o[3] as number));
      v4 = true;
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      words.push(Number.parseInt(p, 16));
    }
  }
  return { words, v4 };
}

/** RFC 5952 §4 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
export function formatIPv6(w: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function maskBits(values: number[], width: number, prefix: number): number[] {
  return values.map((v, i) => {
    const keep = Math.min(width, Math.max(0, prefix - i * width));
    return keep === 0 ? 0 : v & ((((1 << keep) - 1) << (width - keep)) & ((1 << width) - 1));
  });
}

export interface IpPrefixes {
  v4Prefix: number;
  v6Prefix: number;
}

/**
 * The network of `ip` as CIDR text (`192.0.2.0/24`, `2001:db8:1::/48`), or
 * undefined if `ip` is not an address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is
 * truncated as IPv4, because a /48 of it would keep the whole IPv4 address.
 */
export function truncateIp(ip: string, p: IpPrefixes): string | undefined {
  const v4 = parseIPv4(ip);
  if (v4) return `${maskBits(v4, 8, p.v4Prefix).join('.')}/${p.v4Prefix}`;
  const v6 = parseIPv6(ip);
  if (!v6) return undefined;
  if (v6.slice(0, 5).every((x) => x === 0) && v6[5] === 0xffff) {
    const o = [
      (v6[6] as number) >> 8,
      (v6[6] as number) & 255,
      (v6[7] as number) >> 8,
      (v6[7] as number) & 255,
    ];
    return `${maskBits(o, 8, p.v4Prefix).join('.')}/${p.v4Prefix}`;
  }
  return `${formatIPv6(maskBits(v6, 16, p.v6Prefix))}/${p.v6Prefix}`;
}
