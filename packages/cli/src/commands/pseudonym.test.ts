import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { createPrivacyPipeline, validatePrivacyConfig } from '../../../core/src/index.js';

describe('sealog pseudonym', () => {
  it('prints exactly what the pipeline writes for the same key, and never the key', async () => {
    const key = randomBytes(32).toString('hex');
    const file = join(tempDir(), 'psn.key');
    writeFileSync(file, key, { mode: 0o600 });
    const pipeline = createPrivacyPipeline(
      validatePrivacyConfig({
        pseudonymize: { paths: ['user.email', 'user.id'], keys: [{ id: 'k2025', file }] },
      }),
    );
    const stored = pipeline.apply({ user: { email: 'alice@example.com', id: 1234 } }).user as Record<
      string,
      string
    >;
    const r = await runCli(['pseudonym', 'alice@example.com', '--key-id', 'k2025', '--key-file', file]);
    expect(r).toMatchObject({ code: 0, out: `${stored.email}\n` });
    const n = await runCli(['pseudonym', '1234', '--json-value', '--key-id', 'k2025', '--key-file', file]);
    expect(n.out).toBe(`${stored.id}\n`);
    expect(r.out + r.err + n.out + n.err).not.toContain(key);
  });

  it('usage and key errors exit 2', async () => {
    const short = join(tempDir(), 'short.key');
    writeFileSync(short, randomBytes(8).toString('hex'), { mode: 0o600 });
    expect((await runCli(['pseudonym', 'x', '--key-file', short])).code).toBe(2);
    const e = await runCli(['pseudonym', 'x', '--key-id', 'k', '--key-file', short]);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/E_KEY: .*8 bytes; at least 32/);
    expect((await runCli(['pseudonym', 'x', '--key-id', 'k', '--key-env', 'SEALOG_NOPE_UNSET'])).err).toMatch(
      /E_KEY/,
    );
  });
});
