import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSignerKeyFile } from '../../packages/core/src/note/keyfile.js';
import { appendSealed } from '../../packages/core/src/segments/retention-write.js';
import { fileCheckpointKey } from '../../packages/core/src/signer/file.js';
import { tempDir } from '../helpers/tmp.js';
import { hold, ledger, prune } from './helpers.js';

// Red-team finding 5: after a prune was interrupted once its statement was
// sealed, `hold add` placed a hold on a segment that statement names and said
// so, yet the prune rerun deleted the segment under the active hold.

describe('a hold and an interrupted prune', () => {
  it('hold add refuses a segment a sealed prune statement names; the rerun stops at a hold placed after it', async () => {
    const l = await ledger([8, 8, 8, 3], 2);
    const copy = join(tempDir(), 'before');
    cpSync(l.dir, copy, { recursive: true });
    const r = await prune(l, '--keep', '30d', '--yes');
    expect(r.code, r.err).toBe(0);
    // The crash state: statement appended and sealed, no segment removed yet.
    for (const n of ['seg-000001.db', 'seg-000002.db']) cpSync(join(copy, n), join(l.dir, n));
    for (const n of readdirSync(l.dir)) if (n.endsWith('.tomb')) rmSync(join(l.dir, n));

    for (const scope of [
      ['--segment', '1'],
      ['--from', '2025-01-01T00:00:00Z', '--to', '2025-01-01T00:00:05Z'],
    ]) {
      const h = await hold(l, 'add', '--id', `LIT-${scope.length}`, ...scope, '--reason', 'LIT-1');
      expect(h.code, h.out).toBe(2);
      expect(h.err).toMatch(/named by a sealed prune statement that has not finished/);
    }
    const listed = await hold(l, 'list', '--json');
    expect(JSON.parse(listed.out).holds).toEqual([]);

    // A hold placed after the statement anyway (by an older sealog, or the API):
    // the rerun stops there and says so, removing nothing.
    const signer = fileCheckpointKey(loadSignerKeyFile(l.keys.keyFile));
    const now = Date.now();
    await appendSealed(
      join(l.dir, 'seg-000004.db'),
      signer,
      { type: 'hold', origin: l.origin, id: 'LIT-9', time: now, reason: 'LIT-9', scope: { segment: 2 } },
      now,
    );
    const rerun = await prune(l, '--keep', '30d', '--yes');
    expect(rerun.code).toBe(2);
    expect(rerun.err).toMatch(/segment 2 is named by an interrupted prune .*legal hold LIT-9/);
    expect(existsSync(join(l.dir, 'seg-000002.db'))).toBe(true);
    expect(existsSync(join(l.dir, 'seg-000001.db'))).toBe(true);
  });
});
