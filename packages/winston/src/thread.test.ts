// Starts the built worker (dist/worker.js): run `npx turbo run build` first.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LedgerThread } from './thread.js';

describe('LedgerThread backpressure', () => {
  it('block: log() waits for the worker once more than maxQueueBytes are in flight, and nothing is shed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sealog-')), 'a.db');
    const warnings: unknown[] = [];
    const thread = new LedgerThread(
      { path },
      { onWarn: (e) => warnings.push(e), onFatal: (e) => warnings.push(e) },
      { policy: 'block', maxQueueBytes: 2000 },
    );
    // 10,000 lines of ~10 bytes in one synchronous loop: log() waits whenever 2000 bytes are in flight.
    for (let i = 0; i < 10_000; i++) thread.write(JSON.stringify({ i }));
    // Without the bound the worker (still starting) would have almost nothing committed here.
    expect(thread.stats.pending).toBeLessThanOrEqual(200);
    await thread.close();
    expect(thread.stats).toMatchObject({ committed: 10_000, pending: 0, refused: 0 });
    expect(warnings).toEqual([]);
  });
});
