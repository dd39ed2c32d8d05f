// A line that is not a JSON record (a non-pino writer upstream, a stream cut
// mid-record) has no fields for the privacy pipeline's paths: with privacy
// configured it is stored as its length only, so a value redaction would have
// removed never reaches disk (issue 15 red team, finding 6).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PINO_TARGET, readVerified, tempDir } from '../transport-helpers.js';

async function run(options: Record<string, unknown>): Promise<string> {
  const transport = pino.transport({ target: PINO_TARGET, options });
  const logger = pino(transport);
  logger.info({ password: 'hunter2-whole' }, 'a parsed record');
  transport.write('{"level":30,"password":"hunter2-cut"\n'); // cut off: not JSON
  await new Promise<void>((res) => {
    transport.once('close', () => res());
    transport.end();
  });
  return options.path as string;
}

describe('pino lines that do not parse', () => {
  it('with privacy configured, only the length of an unparsable line is stored', async () => {
    const path = await run({ path: join(tempDir(), 'a.db'), privacy: { redact: { paths: ['password'] } } });
    const records = readVerified(path);
    expect(records).toHaveLength(2);
    expect(records[1]?.unparsedLine).toMatch(/^\[withheld: \d+ characters that are not a JSON record\]$/);
    const bytes = readFileSync(path);
    expect(bytes.includes('hunter2-cut')).toBe(false);
    expect(bytes.includes('hunter2-whole')).toBe(false);
  });

  it('without privacy the line is kept as it came, in its place', async () => {
    const path = await run({ path: join(tempDir(), 'a.db') });
    expect(readVerified(path)[1]?.unparsedLine).toBe('{"level":30,"password":"hunter2-cut"');
  });
});
