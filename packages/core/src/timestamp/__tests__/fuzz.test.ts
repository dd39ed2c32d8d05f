import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPki, type TestPki } from '../../../../../test/helpers/tsa.js';
import { isSealogError } from '../../errors.js';
import { MAX_TIMESTAMP_TOKEN_BYTES } from '../der.js';
import { createTimestampRequest } from '../request.js';
import { parseTimestampResponse } from '../response.js';
import { parseTimestampToken } from '../token.js';
import { verifyTimestampToken } from '../verify.js';

// The parsers of network input (TimeStampResp) and of stored tokens must throw
// nothing but SealogError, whatever the bytes: random, truncated, mutated,
// nested deeply. Inputs start from a real openssl token and response.

const NOTE = new TextEncoder().encode(
  'example.com/log\n9\nq5Ub3yUPZ0mP2SDMmV8HR0vQzVvPNb4cP0DdFFeBzjE=\n\n— example.com/log AAAA\n',
);

let pki: TestPki;
let response: Uint8Array;
let token: Uint8Array;
beforeAll(async () => {
  pki = await createTestPki();
  response = await pki.reply(createTimestampRequest(NOTE).der);
  token = parseTimestampResponse(response).token;
});
afterAll(() => pki?.dispose());

/** Runs `fn`; true when it returned or threw a SealogError, false for anything else thrown. */
function onlySealogErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (isSealogError(err)) return true;
    console.error('non-SealogError:', err);
    return false;
  }
}

const all = (bytes: Uint8Array) =>
  onlySealogErrors(() => parseTimestampToken(bytes)) &&
  onlySealogErrors(() => parseTimestampResponse(bytes)) &&
  onlySealogErrors(() => verifyTimestampToken(bytes, NOTE, { trustAnchors: pki.caPem }));

/** A real artefact with edits: flips, truncation, insertions, deletions. */
function mutated(base: () => Uint8Array) {
  return fc
    .array(
      fc.oneof(
        fc.record({
          kind: fc.constant('flip' as const),
          at: fc.nat(),
          bits: fc.integer({ min: 1, max: 255 }),
        }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
        fc.record({
          kind: fc.constant('insert' as const),
          at: fc.nat(),
          byte: fc.integer({ min: 0, max: 255 }),
        }),
        fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((edits) => {
      let b = Array.from(base());
      for (const e of edits) {
        const at = b.length ? e.at % b.length : 0;
        if (e.kind === 'flip') b[at] = (b[at] ?? 0) ^ e.bits;
        else if (e.kind === 'cut') b = b.slice(0, at);
        else if (e.kind === 'insert') b.splice(at, 0, e.byte);
        else b.splice(at, 1);
      }
      return Uint8Array.from(b);
    });
}

describe('timestamp parsers under fuzzing', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), all), { numRuns: 300 });
  });

  it('DER-looking random input (a SEQUENCE header over random content)', () => {
    const arb = fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .map((c) => Uint8Array.from([0x30, 0x81, c.length, ...c]));
    fc.assert(fc.property(arb, all), { numRuns: 300 });
  });

  it('every truncation of a real token and response', () => {
    for (const src of [token, response]) {
      for (let n = 0; n < src.length; n += 7) expect(all(src.subarray(0, n))).toBe(true);
    }
  });

  it('a real token and response, mutated', () => {
    fc.assert(
      fc.property(
        mutated(() => token),
        all,
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        mutated(() => response),
        all,
      ),
      { numRuns: 200 },
    );
  });

  it('deep nesting (indefinite-length SEQUENCEs to the size limit) and oversize input', () => {
    const deep = new Uint8Array(MAX_TIMESTAMP_TOKEN_BYTES);
    for (let i = 0; i < deep.length; i += 2) deep.set([0x30, 0x80], i);
    expect(all(deep)).toBe(true);
    expect(all(new Uint8Array(MAX_TIMESTAMP_TOKEN_BYTES + 1))).toBe(true);
  });
});
