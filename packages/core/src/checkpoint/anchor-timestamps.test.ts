import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ANCHOR_TIMESTAMP_TAG,
  anchorTimestampsPath,
  appendAnchorTimestamp,
  formatAnchorTimestamp,
  splitAnchorTimestamps,
} from './anchor-timestamps.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const anchorIn = () => {
  const d = mkdtempSync(join(tmpdir(), 'sealog-anchor-ts-'));
  dirs.push(d);
  return join(d, 'anchor.txt');
};
const entry = (size: number, tokenBytes = 40) => ({
  size,
  noteSha256: new Uint8Array(createHash('sha256').update(`note ${size}`).digest()),
  token: new Uint8Array(randomBytes(tokenBytes)),
});

describe('the anchor token file', () => {
  it('is <anchor>.timestamps with one line per token, read back exactly', async () => {
    const anchor = anchorIn();
    const a = entry(10);
    const b = entry(20, 64 * 1024);
    await appendAnchorTimestamp(anchor, a);
    await appendAnchorTimestamp(anchor, b);
    const text = readFileSync(anchorTimestampsPath(anchor), 'utf8');
    expect(anchorTimestampsPath(anchor)).toBe(`${anchor}.timestamps`);
    expect(text.split('\n')[0]).toBe(
      `${ANCHOR_TIMESTAMP_TAG} 10 ${Buffer.from(a.noteSha256).toString('base64')} ${Buffer.from(a.token).toString('base64')}`,
    );
    expect(splitAnchorTimestamps(text)).toEqual({ timestamps: [a, b], malformed: 0 });
  });

  it('a line torn by an earlier failed write cannot swallow the next one', async () => {
    const anchor = anchorIn();
    await appendAnchorTimestamp(anchor, entry(1));
    const torn = formatAnchorTimestamp(entry(2)).slice(0, 50);
    appendFileSync(anchorTimestampsPath(anchor), torn);
    const c = entry(3);
    await appendAnchorTimestamp(anchor, c);
    const { timestamps, malformed } = splitAnchorTimestamps(
      readFileSync(anchorTimestampsPath(anchor), 'utf8'),
    );
    expect(timestamps.map((t) => t.size)).toEqual([1, 3]);
    expect(malformed).toBe(1);
  });

  it('skips and counts every line that is not exactly tag, size, hash, token', () => {
    const good = formatAnchorTimestamp(entry(7)).trimEnd();
    const [tag, size, hash, token] = good.split(' ') as [string, string, string, string];
    const bad = [
      `sealog-timestamp/v2 ${size} ${hash} ${token}`, // another version
      `${tag} 07 ${hash} ${token}`, // a size with two spellings
      `${tag} -1 ${hash} ${token}`,
      `${tag} 99999999999999999 ${hash} ${token}`, // past 2^53
      `${tag} ${size} ${hash.slice(0, -4)} ${token}`, // a short hash
      `${tag} ${size} ${hash} ${token.replace(/=*$/, '')}`, // padding dropped: not canonical
      `${tag} ${size} ${hash} ${token} extra`,
      `${tag}  ${size} ${hash} ${token}`,
      `${tag} ${size} ${hash} `,
      `${tag} ${size} ${hash} ${'A'.repeat(100_000)}`, // longer than a 64 KiB token
      '— a signature line from an anchor file',
    ];
    const text = [good, ...bad, good].join('\n');
    const { timestamps, malformed } = splitAnchorTimestamps(text);
    expect(timestamps.length).toBe(2);
    expect(malformed).toBe(bad.length);
  });

  it('refuses to write values out of range', () => {
    expect(() => formatAnchorTimestamp({ ...entry(1), size: -1 })).toThrow(/size/);
    expect(() => formatAnchorTimestamp({ ...entry(1), noteSha256: new Uint8Array(31) })).toThrow(/32 bytes/);
    expect(() => formatAnchorTimestamp({ ...entry(1), token: new Uint8Array(0) })).toThrow(/token/);
    expect(() => formatAnchorTimestamp(entry(1, 64 * 1024 + 1))).toThrow(/token/);
  });

  it('never throws on any text (fuzzed)', () => {
    const line = formatAnchorTimestamp(entry(5));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 500 }),
          fc
            .tuple(fc.nat(line.length), fc.string({ maxLength: 20 }))
            .map(([at, s]) => line.slice(0, at) + s + line.slice(at)),
        ),
        (text) => {
          const r = splitAnchorTimestamps(text);
          expect(r.timestamps.length + r.malformed).toBeLessThanOrEqual(text.split('\n').length);
        },
      ),
    );
    expect(splitAnchorTimestamps(undefined as unknown as string)).toEqual({ timestamps: [], malformed: 0 });
  });
});
