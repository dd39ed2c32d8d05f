import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Bundle, verifyBundle } from '../packages/core/src/index.js';
import { exportFrom, type SealedLedger, sealedLedger } from './bundle-fixture.js';
import { tempDir } from './helpers/tmp.js';

// Bundles come from the party under audit: whatever they hold, verifyBundle
// must answer with a report (never throw), and any change to what is proven
// (entry bytes, proof hashes, the signed note) must fail it.

let ledger: SealedLedger;
let good: Bundle;
let text: string;
beforeAll(async () => {
  ledger = await sealedLedger(tempDir(), 23, { alsoAt: 12 });
  good = exportFrom(ledger, { seqFrom: 3, seqTo: 11 });
  text = JSON.stringify(good);
}, 60_000);

const verdict = (input: unknown, keys = ledger.vkeys): string => verifyBundle(input, { keys }).status;

describe('hostile bundles', () => {
  it('random text edits of the JSON never throw', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string({ maxLength: 4 }), fc.nat({ max: 3 }), (at, insert, cut) => {
        const i = at % text.length;
        const mutated = text.slice(0, i) + insert + text.slice(i + cut);
        const r = verifyBundle(mutated, { keys: ledger.vkeys });
        expect(['ok', 'failed', 'unreadable']).toContain(r.status);
      }),
      { numRuns: 200 },
    );
  });

  it('random JSON values anywhere in the structure never throw', () => {
    const paths = [
      'manifest',
      'checkpoint',
      'keys',
      'entries',
      'anchors',
      'entries.0',
      'entries.0.seq',
      'entries.0.entry',
      'entries.0.proof',
      'entries.0.proof.0',
      'anchors.0',
      'anchors.0.note',
      'anchors.0.proof',
      'type',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const b = JSON.parse(text);
        const keys = path.split('.');
        let o = b;
        for (const k of keys.slice(0, -1)) o = o[k];
        o[keys[keys.length - 1]!] = value;
        const r = verifyBundle(b, { keys: ledger.vkeys });
        expect(['ok', 'failed', 'unreadable']).toContain(r.status);
        if (['entries.0.entry', 'entries.0.proof', 'checkpoint', 'type'].includes(path))
          expect(r.status).not.toBe('ok');
      }),
      { numRuns: 150 },
    );
  });

  it('any single bit flipped in any entry, proof hash or checkpoint note fails verification', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 7 }),
        fc.constantFrom('entry', 'proof', 'note'),
        (which, at, bit, what) => {
          const b = JSON.parse(text) as Bundle;
          const e = b.entries[which % b.entries.length]!;
          if (what === 'note') {
            const bytes = Buffer.from(b.checkpoint);
            bytes[at % bytes.length]! ^= 1 << bit;
            b.checkpoint = bytes.toString('utf8');
          } else if (what === 'entry') {
            const bytes = Buffer.from(e.entry, 'base64');
            bytes[at % bytes.length]! ^= 1 << bit;
            e.entry = bytes.toString('base64');
          } else {
            const k = at % e.proof.length;
            const bytes = Buffer.from(e.proof[k]!, 'base64');
            bytes[at % bytes.length]! ^= 1 << bit;
            e.proof[k] = bytes.toString('base64');
          }
          expect(verdict(b)).toBe('failed');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('non-bundles are unreadable, not crashes', () => {
    for (const input of [
      '',
      'null',
      '[]',
      '{',
      '"x"',
      '{"type":"sealog/evidence-bundle/v1"}',
      new Uint8Array([0xff, 0xfe]),
      42,
      null,
    ]) {
      expect(verdict(input)).toBe('unreadable');
    }
    expect(verdict({ ...good, entries: new Array(1_000_001).fill(0) })).toBe('unreadable');
    expect(verdict(text)).toBe('ok');
  });
});
