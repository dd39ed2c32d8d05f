import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryTime, indexTime, TIME_UNKNOWN } from './time.js';
import { scanTime } from './time-scan.js';

// The byte scanner must give the verifier the same verdict as JSON.parse on
// every input (issue 14): for any entry and any ts, indexTime(entry) === ts
// exactly when (entryTime(entry) ?? TIME_UNKNOWN) === ts. entryTime() is the
// reference: it parses. scanTime() may say "undecided" (NaN), never a
// different answer.

const exact = (e: Uint8Array): number => entryTime(e) ?? TIME_UNKNOWN;

/** Asserts agreement for `entry`, including the verdicts against nearby and sentinel ts values. */
function agrees(entry: Uint8Array): void {
  const want = exact(entry);
  const fast = scanTime(entry, TIME_UNKNOWN);
  if (!Number.isNaN(fast)) expect(Object.is(fast, want)).toBe(true);
  const got = indexTime(entry);
  expect(Object.is(got, want)).toBe(true);
  for (const ts of [want, want + 1, want - 1, TIME_UNKNOWN, 0, 1.7e12]) expect(got === ts).toBe(want === ts);
}

const bytes = (s: string) => Buffer.from(s, 'utf8');

/** Values a `time` / `timestamp` member might hold, honest and hostile. */
const timeValue = fc.oneof(
  fc.integer({ min: -1e16, max: 1e16 }),
  fc.double(),
  fc.constantFrom(0, -0, 8.64e15, -8.64e15, 8.64e15 + 1, 1e21, 1.7e12 + 0.999, 2 ** 53 + 1),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('soon', '', '2024-01-01', 'Mon, 01 Jan 2024 00:00:00 GMT', 'x'.repeat(65), '2024\u00e9'),
  fc.string(),
  fc.constantFrom(null, true, false, [], {}, [1], { time: 5 }),
  fc.jsonValue(),
);

/** An object around optional time members, and how to print it. */
const timedEntry = fc
  .record({
    before: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
    time: fc.option(timeValue),
    timestamp: fc.option(timeValue),
    after: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
    indent: fc.constantFrom(undefined, 0, 1, '\t', ' \r\n'),
  })
  .map(({ before, time, timestamp, after, indent }) => {
    const o: Record<string, unknown> = { ...before };
    if (time !== null) o.time = time;
    if (timestamp !== null) o.timestamp = timestamp;
    Object.assign(o, after);
    return JSON.stringify(o, null, indent);
  });

// Bytes an edit would insert to break or fake structure.
const nasty = fc.constantFrom(
  ...'"\\{}[]:,. -+eE0123456789tfnu'.split('').map((c) => c.charCodeAt(0)),
  0x00,
  0x09,
  0x1f,
  0x7f,
  0x80,
  0xc0,
  0xe2,
  0xef,
  0xff,
);

/** One insertion, deletion or overwrite at any position of a valid entry. */
const mutated = fc
  .tuple(timedEntry, fc.nat(), nasty, fc.constantFrom('insert', 'delete', 'set'))
  .map(([text, at, byte, op]) => {
    const b = [...bytes(text)];
    const i = b.length === 0 ? 0 : at % b.length;
    if (op === 'insert') b.splice(i, 0, byte);
    else if (op === 'delete') b.splice(i, 1);
    else b[i] = byte;
    return Uint8Array.from(b);
  });

describe('scanTime agrees with JSON.parse (entryTime) on every input', () => {
  it('vectors: honest, near-miss and hostile entries', () => {
    const vectors = [
      '{"level":30,"msg":"x","time":1700000000000}',
      '{"time":1700000000000,"time":5}', // duplicate: the last wins in JSON.parse
      '{"time":5,"time":"2024-01-01T00:00:00Z"}',
      '{"time":5,"time":{"a":1}}',
      '{"time":null,"timestamp":"2024-01-01T00:00:00.000Z"}',
      '{"timestamp":"2024-01-01T00:00:00.000Z","time":null}',
      '{"timestamp":1700000000000}',
      '{"timestamp":"2024-01-01T00:00:00Z","time":"soon"}',
      '{"a":{"time":5}}', // nested: not the entry's time
      '[{"time":5}]',
      '"{\\"time\\":5}"',
      '{"a":"\\"time\\":5,","b":1}', // the needle inside a string
      '{"a":"\\\\","time":5}',
      '{"a":"\\\\"time":5}', // invalid: the string ends early
      '{"\\u0074ime":5}', // an escaped name is `time` too
      '{"t\\u0069me":5,"time":6}',
      '{"time":-0}',
      '{"time":-5}',
      '{"time":0.5}',
      '{"time":1.7e12}',
      '{"time":1e400}',
      '{"time":-1e400}',
      '{"time":8640000000000000}',
      '{"time":8640000000000001}',
      '{"time":999999999999999}',
      '{"time":9999999999999999}',
      '{"time":01}',
      '{"time":1.}',
      '{"time":-}',
      '{"time":+1}',
      '{"time":1,}',
      '{"time":1}x',
      '{"time":1} ',
      ' \n{ "time" : 1 , "a" : [ ] , "b" : { } }\t',
      '{"time":1}}',
      '{"time":1',
      '{"time":"2024-01-01T00:00:00Z\u0001"}',
      `{"time":"${'1'.repeat(64)}"}`,
      `{"time":"${'1'.repeat(65)}"}`,
      '{"time":"2024-01-01T00:00:00.000Z"}',
      '{"time":"2024-01-01T00:00:00.000\\u005a"}',
      '{"time":"2024-01-01T00:00:00.000Z\u00e9"}',
      '{"time":true}',
      '{"time":[1]}',
      '{"time":nul}',
      '{"time":truex}',
      '{}',
      '{ }',
      '',
      'null',
      '5',
      '\ufeff{"time":5}',
      `${'['.repeat(300)}${']'.repeat(300)}`,
      `{"a":${'['.repeat(300)}${']'.repeat(300)},"time":5}`,
      `{"a":${'['.repeat(255)}${']'.repeat(255)},"time":5}`,
      '{"__proto__":{"time":5}}',
      '{"__proto__":5,"time":6}',
      '{"a":"\\x"}',
      '{"a":"\\u12"}',
      '{"a":"\\u12G4","time":5}',
      '{"a":"\\',
    ];
    for (const v of vectors) agrees(bytes(v));
    agrees(
      Uint8Array.from([
        0x7b, 0x22, 0x61, 0xe2, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0x74, 0x69, 0x6d, 0x65, 0x22, 0x3a, 0x35, 0x7d,
      ]),
    );
    agrees(Uint8Array.from([0x7b, 0x22, 0x74, 0x69, 0x6d, 0x65, 0x22, 0x3a, 0x35, 0x7d, 0x00]));
  });

  it('the fast path decides pino and winston entries without parsing (so it can be fast)', () => {
    expect(scanTime(bytes('{"a":{"b":[1,"x"]},"level":30,"time":1700000000123}'), -1)).toBe(1700000000123);
    expect(scanTime(bytes('{"msg":"é\\n","time":-5}'), -1)).toBe(-5);
    expect(scanTime(bytes('{"timestamp":"2024-01-01T00:00:00.000Z"}'), -1)).toBe(Date.UTC(2024, 0, 1));
    expect(scanTime(bytes('{"msg":"no time"}'), -1)).toBe(-1);
    expect(scanTime(bytes('{"time":1.5}'), -1)).toBeNaN();
    expect(scanTime(bytes('{"\\u0074ime":5}'), -1)).toBeNaN();
  });

  it('arbitrary JSON values, compact and indented', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 0, 2, '\t'), (v, indent) => {
        agrees(bytes(JSON.stringify(v, null, indent) ?? 'null'));
      }),
      { numRuns: 2000 },
    );
  });

  it('objects with time/timestamp members of every kind', () => {
    fc.assert(
      fc.property(timedEntry, (text) => agrees(bytes(text))),
      { numRuns: 3000 },
    );
  });

  it('repeated and escaped time names (JSON.parse keeps the last)', () => {
    const name = fc.constantFrom('time', 'timestamp', 'a', '\\u0074ime', 'tim', 'timestamps');
    const member = fc.tuple(name, timeValue).map(([k, v]) => `"${k}":${JSON.stringify(v) ?? 'null'}`);
    fc.assert(
      fc.property(fc.array(member, { maxLength: 6 }), (ms) => agrees(bytes(`{${ms.join(',')}}`))),
      { numRuns: 3000 },
    );
  });

  it('one-byte edits of those: broken structure, escapes, quotes, non-UTF-8', () => {
    fc.assert(
      fc.property(mutated, (b) => agrees(b)),
      { numRuns: 5000 },
    );
  });

  it('arbitrary bytes and arbitrary strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => agrees(b)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => agrees(bytes(`{"time":1,"a":"${s}"}`))),
      { numRuns: 2000 },
    );
  });
});
