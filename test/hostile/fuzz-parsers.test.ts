import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exportBundle,
  isSealogError,
  LedgerReader,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  proveConsistency,
  proveInclusion,
  verifyBundle,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifyNote,
} from '../../packages/core/src/index.js';
import { makeLedger } from '../../packages/core/src/verify/__tests__/fixture.js';
import { SLOW } from '../faults/harness.js';

// fast-check fuzz targets for every parser of attacker-controlled text and
// JSON: signed notes, checkpoint bodies, verifier and signer keys, inclusion
// and consistency proof bundles, evidence bundles. Inputs are valid artefacts
// mutated structurally (a node replaced by any JSON value) and textually
// (bytes flipped, inserted, deleted), plus arbitrary strings. The contract
// (CONVENTIONS 5): parsers throw only SealogError, verifiers never throw.
// The total number of cases run is printed. SEALOG_SLOW=1 runs 20x as many.

const RUNS = SLOW ? 20 : 1;
let cases = 0;
afterAll(() => {
  console.log(`fuzz-parsers: ${cases} cases run`);
});

function run<T>(arb: fc.Arbitrary<T>, check: (t: T) => void, numRuns: number): void {
  const n = numRuns * RUNS;
  fc.assert(fc.property(arb, check), { numRuns: n });
  cases += n;
}

const fixture = makeLedger({ records: 40, every: 10 });
const keys = [fixture.vkey, fixture.cosignerVkey];
const reader = new LedgerReader(fixture.path);
const note = reader.checkpoints().at(-1)!.note;
const inclusion = proveInclusion(fixture.path, 7, keys);
const consistency = proveConsistency(fixture.path, 10, 40, keys);
const bundle = exportBundle(reader, { query: {}, keys }).bundle;
reader.close();

/** Text mutations: flip, insert or delete characters at random places. */
const textEdits = fc.array(
  fc.tuple(fc.nat(), fc.constantFrom('flip', 'insert', 'delete'), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 1, maxLength: 6 },
);

function editText(s: string, edits: [number, string, number][]): string {
  let out = s;
  for (const [at, op, c] of edits) {
    const i = out.length === 0 ? 0 : at % out.length;
    const ch = String.fromCharCode(c % 4 === 0 ? c : c % 128);
    if (op === 'flip') out = out.slice(0, i) + ch + out.slice(i + 1);
    else if (op === 'insert') out = out.slice(0, i) + ch + out.slice(i);
    else out = out.slice(0, i) + out.slice(i + 1);
  }
  return out;
}

/** Every node of a JSON value, for picking one to replace. */
function nodes(
  v: unknown,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(path);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) nodes(x, [...path, i], out);
  } else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) nodes(x, [...path, k], out);
  return out;
}

function replaceAt(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1)!] = value;
  return copy;
}

/** A valid JSON artefact with one node replaced by an arbitrary JSON value (or text-mutated). */
function mutatedJson(valid: unknown): fc.Arbitrary<unknown> {
  const all = nodes(valid);
  return fc.oneof(
    fc
      .tuple(fc.nat(all.length - 1), fc.oneof(fc.jsonValue(), fc.string(), fc.integer(), fc.constant(null)))
      .map(([i, x]) => replaceAt(valid, all[i]!, x)),
    textEdits.map((e) => editText(JSON.stringify(valid), e)),
    fc.anything(),
  );
}

/** Calls `f`; anything thrown must be a SealogError. */
function onlySealogErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!isSealogError(err)) throw err;
    expect(err.message.length).toBeGreaterThan(0);
  }
}

const hostileText = (valid: string) =>
  fc.oneof(
    textEdits.map((e) => editText(valid, e)),
    fc.string({ unit: 'binary', maxLength: 600 }),
    fc.string(),
  );

describe('fuzz: notes, checkpoints and keys', () => {
  it('valid inputs pass (the properties below are not vacuous)', () => {
    expect(verifyNote(note, keys).verified.length).toBeGreaterThan(0);
    expect(parseCheckpoint(parseNote(note).text).size).toBe(40);
    expect(parseVerifierKey(fixture.vkey).name).toBe(fixture.origin);
    expect(parseSignerKey(fixture.privateKey).name).toBe(fixture.origin);
    expect(verifyInclusionProof(inclusion, keys).ok).toBe(true);
    expect(verifyConsistencyProof(consistency, keys).ok).toBe(true);
    expect(verifyBundle(bundle, { keys }).status).toBe('ok');
  });

  it('parseNote / verifyNote throw only SealogError', () => {
    run(
      hostileText(note),
      (t) => {
        onlySealogErrors(() => parseNote(t));
        onlySealogErrors(() => verifyNote(t, keys));
        onlySealogErrors(() => parseNote(Buffer.from(t, 'latin1')));
      },
      400,
    );
    run(fc.uint8Array({ maxLength: 800 }), (b) => onlySealogErrors(() => verifyNote(b, keys)), 200);
  });

  it('parseCheckpoint throws only SealogError', () => {
    run(hostileText(parseNote(note).text), (t) => onlySealogErrors(() => parseCheckpoint(t)), 400);
  });

  it('parseVerifierKey / parseSignerKey throw only SealogError', () => {
    run(hostileText(fixture.vkey), (t) => onlySealogErrors(() => parseVerifierKey(t)), 300);
    run(hostileText(fixture.cosignerVkey), (t) => onlySealogErrors(() => parseVerifierKey(t)), 200);
    run(hostileText(fixture.privateKey), (t) => onlySealogErrors(() => parseSignerKey(t)), 300);
  });
});

describe('fuzz: proofs and evidence bundles', () => {
  it('verifyInclusionProof / verifyConsistencyProof never throw on a hostile bundle', () => {
    run(
      mutatedJson(inclusion),
      (b) => {
        const r = verifyInclusionProof(b, keys);
        if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
      },
      300,
    );
    run(
      mutatedJson(consistency),
      (b) => {
        const r = verifyConsistencyProof(b, keys);
        if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
      },
      300,
    );
  });

  it('verifyBundle never throws on a hostile bundle', () => {
    run(
      mutatedJson(bundle),
      (b) => {
        const r = verifyBundle(b, { keys });
        expect(['ok', 'failed', 'unreadable']).toContain(r.status);
      },
      150,
    );
  });
});
