import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSealogError } from '../../errors.js';
import {
  formatAddCheckpointRequest,
  MAX_PROOF_LINES,
  MAX_WITNESS_REQUEST_BYTES,
  parseAddCheckpointRequest,
} from '../request.js';

// The example request body of C2SP tlog-witness §add-checkpoint, byte for byte.
const SPEC_EXAMPLE = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;

const HASH = 'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=';
const NOTE = 'o\n1\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n— o AAAAAAA=\n';

function fails(body: string | Uint8Array): string {
  try {
    parseAddCheckpointRequest(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  } catch (err) {
    expect(isSealogError(err) && err.code).toBe('E_FORMAT');
    return (err as Error).message;
  }
  throw new Error('parsed');
}

describe('parseAddCheckpointRequest', () => {
  it('parses the spec example: old size, four proof hashes, and the note after the first empty line', () => {
    const r = parseAddCheckpointRequest(Buffer.from(SPEC_EXAMPLE, 'utf8'));
    expect(r.oldSize).toBe(20852014);
    expect(r.proof.map((h) => Buffer.from(h).toString('base64'))).toEqual(
      SPEC_EXAMPLE.split('\n').slice(1, 5),
    );
    expect(Buffer.from(r.note).toString('utf8')).toBe(SPEC_EXAMPLE.slice(SPEC_EXAMPLE.indexOf('\n\n') + 2));
  });

  it('round-trips what formatAddCheckpointRequest writes', () => {
    const proof = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    const body = formatAddCheckpointRequest({ oldSize: 7, proof, note: NOTE });
    expect(body.toString()).toBe(`old 7\n${proof.map((p) => p.toString('base64')).join('\n')}\n\n${NOTE}`);
    const r = parseAddCheckpointRequest(body);
    expect(r.oldSize).toBe(7);
    expect(r.proof.map((p) => Buffer.from(p))).toEqual(proof);
    expect(Buffer.from(r.note).toString()).toBe(NOTE);
    expect(parseAddCheckpointRequest(Buffer.from(`old 0\n\n${NOTE}`)).proof).toEqual([]);
  });

  it('refuses sizes that are not plain decimal without leading zeros, or above 2^53-1', () => {
    for (const old of [
      '01',
      '-1',
      '+1',
      ' 1',
      '1 ',
      '1.0',
      '0x1',
      '',
      '１',
      '99999999999999999',
      '9007199254740992',
    ])
      fails(`old ${old}\n\n${NOTE}`);
    fails(`OLD 1\n\n${NOTE}`);
    fails(`old  1\n\n${NOTE}`);
    fails(`old 1\r\n\r\n${NOTE}`);
    expect(parseAddCheckpointRequest(Buffer.from(`old 9007199254740991\n\n${NOTE}`)).oldSize).toBe(
      2 ** 53 - 1,
    );
  });

  it('refuses proof lines that are not canonical standard base64 of 32 bytes', () => {
    for (const line of [
      HASH.replace('=', ''), // no padding
      '5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8='.replace(/\+/g, '-').replace('/', '_'), // URL alphabet
      `${HASH.slice(0, 42)}x=`, // non-zero pad bits
      Buffer.alloc(31).toString('base64'),
      Buffer.alloc(33).toString('base64'),
      ` ${HASH}`,
      `${HASH} `,
    ])
      fails(`old 1\n${line}\n\n${NOTE}`);
  });

  it('takes 63 proof lines and refuses 64, an empty note, no empty line, and oversize bodies', () => {
    const lines = (n: number) => `${HASH}\n`.repeat(n);
    expect(
      parseAddCheckpointRequest(Buffer.from(`old 1\n${lines(MAX_PROOF_LINES)}\n${NOTE}`)).proof,
    ).toHaveLength(63);
    expect(fails(`old 1\n${lines(64)}\n${NOTE}`)).toMatch(/more than 63|63 proof lines/);
    expect(fails(`old 1\n${lines(100_000)}\n${NOTE}`)).toMatch(/larger than|63 proof lines/);
    fails(`old 1\n\n`);
    fails(`old 1\n${HASH}\n`);
    fails('');
    fails(Buffer.alloc(MAX_WITNESS_REQUEST_BYTES + 1, 0x0a));
    expect(() =>
      formatAddCheckpointRequest({ oldSize: 1, proof: new Array(64).fill(Buffer.alloc(32)), note: NOTE }),
    ).toThrow(/at most 63/);
  });

  it('fast-check: any bytes give a request or E_FORMAT, never another exception', () => {
    const line = fc.oneof(
      fc.constant('old 5'),
      fc.constant(HASH),
      fc.constant(''),
      fc.constant('— o AAAAAAA='),
      fc.string({ maxLength: 50 }),
      fc.nat().map((n) => `old ${n}`),
    );
    const structured = fc.array(line, { maxLength: 80 }).map((ls) => Buffer.from(ls.join('\n'), 'utf8'));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), structured), (bytes) => {
        try {
          const r = parseAddCheckpointRequest(bytes);
          expect(r.proof.length).toBeLessThanOrEqual(MAX_PROOF_LINES);
          expect(Number.isSafeInteger(r.oldSize)).toBe(true);
        } catch (err) {
          if (!(isSealogError(err) && err.code === 'E_FORMAT')) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
