import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSink } from './sink.js';

// Issue 20, item 2: a transport says at startup, once per noised field, what
// the noise does to one value and to means, before the first record is written.
describe('startup notice of a noised field', () => {
  it('one line per field with its 95% errors, through onNotice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-notice-'));
    const key = join(dir, 'psn.key');
    writeFileSync(key, randomBytes(32).toString('base64'), { mode: 0o600 });
    const privacy = {
      pseudonymize: { paths: ['user'], keys: [{ id: 'k1', file: key }], current: 'k1' },
      noise: {
        unit: 'user',
        budget: { epsilon: 10, windowSeconds: 86_400 },
        fields: {
          latencyMs: { mechanism: 'laplace', epsilon: 2, lower: 0, upper: 500, granularity: 1 },
          amount: { mechanism: 'laplace', epsilon: 0.5, lower: 0, upper: 5000, granularity: 1 },
        },
      },
    };
    const lines: string[] = [];
    const sink = await openSink({ path: join(dir, 'a.db'), privacy }, { onNotice: (l) => lines.push(l) });
    await sink.close();
    expect(lines).toEqual([
      expect.stringMatching(
        /^noise latencyMs: laplace ε=2 on \[0, 500\]: one value ±749, mean of 1000 ±21\.9, /,
      ),
      expect.stringMatching(
        /^noise amount: laplace ε=0\.5 on \[0, 5000\]: one value ±29957, .*a single value is noise/,
      ),
    ]);
  });

  it('nothing without noise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-notice-'));
    const lines: string[] = [];
    const sink = await openSink({ path: join(dir, 'a.db') }, { onNotice: (l) => lines.push(l) });
    await sink.close();
    expect(lines).toEqual([]);
  });
});
