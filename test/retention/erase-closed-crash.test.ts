import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifySegments } from '../../packages/core/src/segments/verify.js';
import { foreignMarkerOf } from '../../packages/core/src/signer/erasure.js';
import { sealog } from '../attacks/harness.js';
import { copyDir, rng, rowsOf, sealogKilledAfter } from '../helpers/kill.js';
import { ledger } from './helpers.js';

// Issue 18 item 4b, crash safety of erasure in a closed segment: `sealog erase`
// SIGKILLed at 20 seeded points (verify, the statement appended to and sealed
// in the newest segment, the closed segment's bodies replaced, its VACUUM)
// leaves a directory that verifies and holds every record; a rerun finishes
// the erasure, after which the body's bytes are in none of the closed
// segment's files (.db, -wal, -shm).

const SEEDS = 20;
const TARGET = 2;

const rows = rowsOf;

/** Every file of a segment that exists (.db, -wal, -shm), as bytes. */
const segmentBytes = (file: string): Buffer[] =>
  [file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f));

describe('sealog erase on a closed segment under SIGKILL', () => {
  it(`at ${SEEDS} seeded points: the directory verifies, loses no record, a rerun completes, the body is gone`, async () => {
    const template = await ledger([8, 8, 3], 0);
    const keys = template.keys.vkeys;
    const files = template.segments.map((s) => s.path.slice(template.dir.length + 1));
    const before = files.map((f) => rows(join(template.dir, f)));
    const body = before[1]!.get(TARGET)!;
    expect(body.toString()).toContain('"msg":"event 9"');
    const args = (dir: string) => [
      'erase',
      join(dir, files[1]!),
      '--seq',
      String(TARGET),
      '--reason',
      'DSR-9',
      '--key',
      template.keys.keyFile,
      '--yes',
    ];
    const copy = (name: string) => copyDir(template.dir, name);
    // How long a whole run takes here: the kill points spread over it.
    const probe = copy('probe');
    const t0 = performance.now();
    const full = await sealog(args(probe));
    expect(full.code, full.err).toBe(0);
    const span = performance.now() - t0;

    const next = rng(18_42);
    const outcomes = { erased: 0, intact: 0 };
    for (let seed = 0; seed < SEEDS; seed++) {
      const dir = copy(`seed-${seed}`);
      // Even seeds anywhere in the run; odd ones in its second half, where the writes are.
      const at = seed % 2 === 0 ? next() * 1.2 : 0.5 + next() * 0.5;
      const killed = await sealogKilledAfter(args(dir), Math.floor(at * span));
      expect(
        killed.signal === 'SIGKILL' || killed.code === 0,
        `seed ${seed}: ${JSON.stringify(killed)}`,
      ).toBe(true);

      const mid = verifySegments(dir, { keys });
      expect(mid.findings, `seed ${seed}`).toEqual([]);
      expect(mid.ok, `seed ${seed}: ${JSON.stringify(mid.segments.map((s) => s.report?.findings))}`).toBe(
        true,
      );
      files.forEach((f, i) => {
        const now = rows(join(dir, f));
        for (const [seq, entry] of before[i]!) {
          const got = now.get(seq);
          expect(got, `seed ${seed}: ${f} row ${seq} lost`).toBeDefined();
          if (i === 1 && seq === TARGET && foreignMarkerOf(got) !== undefined) continue;
          expect(got!.equals(entry), `seed ${seed}: ${f} row ${seq} changed`).toBe(true);
        }
      });
      if (foreignMarkerOf(rows(join(dir, files[1]!)).get(TARGET)) !== undefined) outcomes.erased++;
      else outcomes.intact++;

      // Run again: it finishes what was interrupted, or says the row is already erased.
      const again = await sealog(args(dir));
      if (again.code !== 0) expect(again.err, `seed ${seed}`).toMatch(/already erased/);
      expect(foreignMarkerOf(rows(join(dir, files[1]!)).get(TARGET)), `seed ${seed}`).toBeDefined();
      const end = verifySegments(dir, { keys });
      expect(end.ok, `seed ${seed}: ${JSON.stringify(end.findings)}`).toBe(true);
      const listed = end.segments[1]!.report!.erasures ?? [];
      expect(
        listed.filter((e) => e.erased).map((e) => e.seq),
        `seed ${seed}`,
      ).toEqual([TARGET]);
      // The body (whole, or its distinctive part) survives in none of the closed segment's files.
      for (const bytes of segmentBytes(join(dir, files[1]!))) {
        expect(bytes.includes(body), `seed ${seed}`).toBe(false);
        expect(bytes.includes('"msg":"event 9"'), `seed ${seed}`).toBe(false);
      }
    }
    console.log('erase (closed segment) killed:', outcomes);
    expect(outcomes.erased + outcomes.intact).toBe(SEEDS);
  }, 600_000);

  it('before erasure the body is in the closed segment file (the byte scan can see it)', async () => {
    const l = await ledger([8, 8, 3], 0);
    const body = rows(l.segments[1]!.path).get(TARGET)!;
    expect(segmentBytes(l.segments[1]!.path).some((b) => b.includes(body))).toBe(true);
  });
});
