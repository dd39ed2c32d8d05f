import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../../test/helpers/tmp.js';
import { parseNote } from '../../note/note.js';
import { parseAddCheckpointRequest } from '../request.js';
import { makeHistory, makeWitness, ORIGIN } from './fixture.js';

// The witness as a black box over a real SQLite state file: whatever bytes
// arrive, it answers with a protocol status (never 500, never throws), and
// it cosigns only a checkpoint whose signed text is the one the log signed.

const PROTOCOL_STATUSES = [200, 400, 403, 404, 409, 422];

type Mutation = { at: number; kind: 'flip' | 'set' | 'insert' | 'delete'; byte: number };

function mutate(bytes: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of muts) {
    const at = m.at % (b.length + 1);
    if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.of(m.byte), b.subarray(at)]);
    else if (at < b.length) {
      if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else if (m.kind === 'flip') b[at] = b[at]! ^ (1 << (m.byte % 8));
      else b[at] = m.byte;
    }
  }
  return b;
}

const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'set', 'insert', 'delete') as fc.Arbitrary<Mutation['kind']>,
  byte: fc.integer({ min: 0, max: 255 }),
});

describe('Witness under mutated and random requests (fast-check)', () => {
  it('never cosigns a mutated request whose signed checkpoint text changed, and changes no state unless it cosigns', async () => {
    const dir = tempDir();
    const log = await makeHistory(dir, 30);
    const valid = log.request(10, 25);
    const signedText = parseNote(log.note(25)).text;
    const fresh = () => {
      const w = makeWitness(dir, [log]);
      expect(w.witness.addCheckpoint(log.request(0, 10)).status).toBe(200);
      return w;
    };
    let w = fresh();
    let baseline = w.state.get(ORIGIN)!;
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        const body = mutate(valid, muts);
        const reply = w.witness.addCheckpoint(body);
        expect(PROTOCOL_STATUSES).toContain(reply.status);
        const head = w.state.get(ORIGIN)!;
        if (reply.status !== 200) {
          expect(head.size).toBe(baseline.size);
          expect(Buffer.from(head.root)).toEqual(Buffer.from(baseline.root));
          expect(head.note).toBe(baseline.note);
          return;
        }
        // Accepted: it must be the very checkpoint the log signed (mutations only in
        // parts no signature covers, e.g. the log's own time-cosigner line, which the
        // witness ignores as an unknown key).
        accepted++;
        expect(parseNote(parseAddCheckpointRequest(body).note).text).toBe(signedText);
        expect(head.size).toBe(25);
        w.state.close();
        w = fresh();
        baseline = w.state.get(ORIGIN)!;
      }),
      { numRuns: 400 },
    );
    w.state.close();
    // Sanity: the property saw both outcomes' worth of input (not only 400s).
    expect(accepted).toBeLessThan(400);
  });

  it('random bytes and structured junk are answered 4xx, never 200 or 500', async () => {
    const dir = tempDir();
    const log = await makeHistory(dir, 5);
    const w = makeWitness(dir, [log]);
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((u) => Buffer.from(u)),
      fc
        .tuple(fc.nat({ max: 40 }), fc.string({ maxLength: 300 }))
        .map(([n, s]) => Buffer.from(`old ${n}\n\n${ORIGIN}\n${s}`, 'utf8')),
    );
    fc.assert(
      fc.property(junk, (body) => {
        const reply = w.witness.addCheckpoint(body);
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
      }),
      { numRuns: 1000 },
    );
    expect(w.state.get(ORIGIN)).toBeUndefined();
    w.state.close();
  });
});
