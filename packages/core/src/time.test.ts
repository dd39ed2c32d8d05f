import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from './encode.js';
import { entryTime, indexTime, inTimeRange, ownTime, stampTime, TIME_UNKNOWN } from './time.js';

// The writer's ts and the verifier's expected ts must be one function of the
// entry bytes, or an honest ledger raises index-modified (and query fails).

/** What Ledger.write stores: the stamped record encoded, and its ts. */
function written(record: unknown, now: number): { entry: Buffer; ts: number } {
  const s = stampTime(record, now);
  const { json, coerced } = encodeRecord(s.record);
  const entry = Buffer.from(json, 'utf8');
  return { entry, ts: coerced.length === 0 && s.ts !== undefined ? s.ts : indexTime(entry) };
}

describe('entry time', () => {
  it('reads pino time, winston timestamp, and nothing else', () => {
    expect(entryTime(Buffer.from('{"time":1234.9}'))).toBe(1234);
    expect(entryTime(Buffer.from('{"timestamp":"2024-01-01T00:00:00.000Z"}'))).toBe(Date.UTC(2024, 0, 1));
    expect(entryTime(Buffer.from('{"time":"soon","timestamp":"2024-01-01T00:00:00Z"}'))).toBeUndefined();
    expect(entryTime(Buffer.from('{"\\u0074ime":5}'))).toBe(5);
    expect(entryTime(Buffer.from('{"time":1e300}'))).toBeUndefined();
    expect(entryTime(Buffer.from('[1]'))).toBeUndefined();
    expect(entryTime(Buffer.from([0xff, 0x22]))).toBeUndefined();
    expect(ownTime({ time: -0 })).toBe(0);
    expect(Object.is(ownTime({ time: -0 }), -0)).toBe(false);
  });

  it('time-unknown rows are in every range; others by [from, to)', () => {
    expect(inTimeRange(TIME_UNKNOWN, 5, 6)).toBe(true);
    expect(inTimeRange(5, 5, 6)).toBe(true);
    expect(inTimeRange(6, 5, 6)).toBe(false);
    expect(inTimeRange(4, 5, undefined)).toBe(false);
  });
});

describe('stampTime', () => {
  it('adds the receive time to a record with none, and only then', () => {
    expect(written({ msg: 'x' }, 77)).toEqual({ entry: Buffer.from('{"msg":"x","time":77}'), ts: 77 });
    expect(written({ msg: 'x', timestamp: 'nope' }, 77).ts).toBe(77);
    expect(written({ time: 5 }, 77).entry.toString()).toBe('{"time":5}');
    expect(written({ time: 'soon' }, 77)).toEqual({
      entry: Buffer.from('{"time":"soon"}'),
      ts: TIME_UNKNOWN,
    });
    expect(written('text', 77).ts).toBe(TIME_UNKNOWN);
  });

  it('property: the ts the writer stores is the ts the verifier expects, for any record', () => {
    const timeLike = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.string(),
      fc.date({ noInvalidDate: false }),
      fc.constantFrom(
        null,
        undefined,
        Number.NaN,
        Infinity,
        '2024-01-01T00:00:00Z',
        'Mon, 01 Jan 2024 00:00:00 GMT',
      ),
      fc.bigInt(),
      fc.object(),
    );
    const record = fc.oneof(
      fc.record({ time: timeLike, timestamp: timeLike, msg: fc.string() }, { requiredKeys: [] }),
      fc.anything(),
    );
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 4e12 }), (r, now) => {
        const { entry, ts } = written(r, now);
        expect(ts).toBe(indexTime(entry));
      }),
      { numRuns: 2000 },
    );
  });

  it('an entry cut for size keeps ts in step with what was kept', () => {
    const wide: Record<string, unknown> = { msg: 'wide' };
    for (let i = 0; i < 100_000; i++) wide[`key${i}`] = i;
    const { entry, ts } = written(wide, 77);
    expect(entry.includes('"time"')).toBe(false); // the encoder kept a prefix without it
    expect(ts).toBe(TIME_UNKNOWN);
  });

  it('a getter that changes its answer cannot split ts from the entry', () => {
    let n = 0;
    const r = {
      get time() {
        n++;
        return n === 1 ? 5 : 6;
      },
    };
    const { entry, ts } = written(r, 77);
    expect(ts).toBe(indexTime(entry));
  });
});
