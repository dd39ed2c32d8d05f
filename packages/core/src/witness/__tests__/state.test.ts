import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../../../test/helpers/tmp.js';
import { isSealogError } from '../../errors.js';
import { sha256 } from '../../hash.js';
import { Ledger } from '../../ledger.js';
import { type WitnessHead, WitnessState } from '../state.js';

const head = (size: number, tag = 'a'): WitnessHead => ({
  origin: 'o',
  size,
  root: sha256(Buffer.from(`${tag}${size}`)),
  updatedMs: 1,
  note: `n${size}`,
});

/** Advances from `old` to `next` the way the witness does: only if the stored size is `old`. */
function advanceFrom(state: WitnessState, old: number, next: WitnessHead, during?: () => void): boolean {
  return state.advance('o', (cur) => {
    if ((cur?.size ?? 0) !== old) return { result: false };
    during?.();
    return { head: next, result: true };
  });
}

describe('WitnessState', () => {
  it('stores one head per origin and survives reopening', () => {
    const path = join(tempDir(), 'w.db');
    const s = WitnessState.open(path);
    expect(s.get('o')).toBeUndefined();
    expect(advanceFrom(s, 0, head(5))).toBe(true);
    expect(advanceFrom(s, 5, head(9))).toBe(true);
    s.close();
    const again = WitnessState.open(path);
    expect(again.get('o')).toMatchObject({ size: 9, note: 'n9' });
    expect(again.heads().map((h) => h.size)).toEqual([9]);
    again.close();
  });

  it('two connections cannot both advance from the same old size (the spec’s rollback race)', () => {
    const path = join(tempDir(), 'w.db');
    const a = WitnessState.open(path);
    const b = WitnessState.open(path, { busyTimeoutMs: 50 });
    expect(advanceFrom(a, 0, head(10))).toBe(true);
    // Request A (→ 20) has checked old size 10; before it writes, request B (→ 30) on
    // another connection tries the same. A holds the write lock, so B's transaction
    // cannot start: SQLITE_BUSY surfaces as E_IO (after the busy timeout) and B stores nothing.
    let bResult: unknown;
    const won = advanceFrom(a, 10, head(20), () => {
      try {
        bResult = advanceFrom(b, 10, head(30));
      } catch (err) {
        bResult = err;
      }
    });
    expect(won).toBe(true);
    expect(isSealogError(bResult) && bResult.code).toBe('E_IO');
    // B retried now sees 20, not 10: refused, no rollback.
    expect(advanceFrom(b, 10, head(30))).toBe(false);
    expect(b.get('o')?.size).toBe(20);
    a.close();
    b.close();
  });

  it('the write is a compare-and-set on the (size, root) read', () => {
    const path = join(tempDir(), 'w.db');
    const s = WitnessState.open(path);
    advanceFrom(s, 0, head(4));
    // A decide() that claims a head while the row changed underneath: simulated by
    // writing the row from inside decide (same connection, inside the transaction).
    expect(() =>
      s.advance('o', () => {
        advanceFrom(s, 4, head(6, 'b')); // nested: commits into the outer transaction
        return { head: head(7), result: true };
      }),
    ).toThrow(/changed underneath/);
    expect(s.get('o')?.size).toBe(4); // the whole transaction rolled back
    s.close();
  });

  it('refuses a file that is not a witness state (a sealog ledger)', async () => {
    const path = join(tempDir(), 'ledger.db');
    const ledger = Ledger.open({ path });
    ledger.write({ a: 1 });
    await ledger.close();
    expect(() => WitnessState.open(path)).toThrow(/not a sealog witness state file/);
  });
});
