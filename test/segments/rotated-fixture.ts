// The rotated segmented ledger that the carried-key tests (rotation-carry,
// erase-carried) start from, made with the real `sealog key rotate`.
import { join } from 'node:path';
import { expect } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempDir } from '../helpers/tmp.js';
import { addSegment, fixtureKeys, makeSegmentedLedger, type SegmentedLedger } from '../segments-fixture.js';

type Keys = SegmentedLedger['keys'];

/**
 * Segment 1 (4 records, sealed every 2) rotates to a new key `next`, which
 * alone seals that and writes and seals segments 2 (`second` records) and 3 (2).
 * The rotation is signed by the ledger's own key `first`, or with
 * `rotateWith: 'attacker'` by another key of the same name. `l.keys` is `first`.
 */
export async function rotatedLedger(
  second: number,
  options: { rotateWith?: 'attacker' } = {},
): Promise<{ l: SegmentedLedger; first: Keys; next: Keys; root: string }> {
  const root = tempDir();
  const l = await makeSegmentedLedger(join(root, 'audit'), { segments: [4], checkpointEvery: 2 });
  const first = l.keys;
  const outgoing = options.rotateWith ? fixtureKeys(join(root, 'evil'), l.origin, 'evil') : first;
  const next = fixtureKeys(join(root, 'k2'), l.origin, 'k2');
  const seg1 = l.segments[0]!.path;
  const rot = await runBin(['key', 'rotate', seg1, '--key', outgoing.keyFile, '--new-key', next.keyFile]);
  expect(rot.code, rot.err).toBe(0);
  const c = await runBin(['checkpoint', seg1, '--key', next.keyFile]);
  expect(c.code, c.err).toBe(0);
  l.keys = next;
  await addSegment(l, second);
  await addSegment(l, 2);
  l.keys = first;
  return { l, first, next, root };
}
