// What a pseudonymization key file holds after `sealog pseudonym shred`: one
// line naming the destroyed key and when, and nothing of the key.
//
//   SHREDDED sealog-pseudonym-key k2024 2025-03-01T12:00:00.000Z
//
// Every key loader reads a file through parseTombstone first, so a keyring
// that still lists a shredded key fails at startup with that date instead of
// "not hex or base64". The text comes from a file anyone with write access may
// have edited: only an exact line is a tombstone, and a line that merely starts
// like one is reported as damaged, never echoed.

/** First word of a tombstone; no hex or base64 key text contains a space, so no key starts this way. */
export const TOMBSTONE_MAGIC = 'SHREDDED sealog-pseudonym-key';

export interface KeyTombstone {
  /** ID of the destroyed key. */
  id: string;
  /** When it was destroyed, ISO 8601 UTC with milliseconds (as written). */
  at: string;
}

// The whole text, one optional trailing newline: no room for anything else.
// The ID class is keys.ts's KEY_ID_PATTERN (a test holds them equal), so an
// ID from here is safe to print.
const LINE =
  /^SHREDDED sealog-pseudonym-key ([A-Za-z0-9_-]{1,32}) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\n?$/;

/** The tombstone text for key `id` destroyed at `ms`. */
export function formatTombstone(id: string, ms: number): string {
  return `${TOMBSTONE_MAGIC} ${id} ${new Date(ms).toISOString()}\n`;
}

/**
 * What key-file text is: a tombstone, text that starts like one but is not
 * exactly one (edited, cut short by a crash mid-shred), or anything else (a
 * candidate key, judged by the key parser).
 */
export function parseTombstone(
  text: string,
): { kind: 'tombstone'; tombstone: KeyTombstone } | { kind: 'damaged' } | { kind: 'other' } {
  // Key text is hex or base64: it never holds a space, so it never starts like this.
  if (!text.trimStart().startsWith('SHREDDED ')) return { kind: 'other' };
  const m = LINE.exec(text);
  // The date must be a real one that round-trips: 2025-13-45 is damage, not a time.
  if (!m || Number.isNaN(Date.parse(m[2] as string)) || new Date(m[2] as string).toISOString() !== m[2]) {
    return { kind: 'damaged' };
  }
  return { kind: 'tombstone', tombstone: { id: m[1] as string, at: m[2] as string } };
}

/** The one message every loader gives for a destroyed key. */
export function shreddedMessage(id: string, where: string, t: KeyTombstone): string {
  const whose = t.id === id ? '' : ` (the tombstone names key "${t.id}")`;
  return (
    `pseudonymization key "${id}" was destroyed on ${t.at}${whose}: ${where} holds only its tombstone, ` +
    'and its pseudonyms can no longer be linked to anyone'
  );
}
