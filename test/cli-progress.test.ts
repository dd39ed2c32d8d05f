import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendRecords, seal, sealedLedger } from './bundle-fixture.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';
import { makeSegmentedLedger } from './segments-fixture.js';

// Progress on stderr for long `export` and `verify` runs (issue 19 item 10):
// only with --progress here (stderr is not a terminal in tests), never on
// stdout, and the verdict and output are the same with or without it.

describe('progress on stderr for export and verify', () => {
  it('export --progress reports hashing and proving on stderr only; quiet without it', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 10);
    await appendRecords(l.path, 10, 2100);
    await seal(l, 1_760_000_600_000);
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `${l.vkeys.join('\n')}\n`);
    const shown = await runCli([
      'export',
      l.path,
      '--key-file',
      keys,
      '--out',
      join(dir, 'a.jsonl'),
      '--progress',
    ]);
    expect(shown.code, shown.err).toBe(0);
    const lines = shown.err.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const x of lines) expect(x).toMatch(/^ {2}(hashed|proved) \d+ of 2110 records \(\d+%\)$/);
    const quiet = await runCli(['export', l.path, '--key-file', keys, '--out', join(dir, 'b.jsonl')]);
    expect(quiet.err, 'stderr is not a terminal and --progress was not given').toBe('');
    expect(quiet.out.replaceAll('b.jsonl', 'a.jsonl')).toBe(shown.out);
    const json = await runCli([
      'export',
      l.path,
      '--key-file',
      keys,
      '--out',
      join(dir, 'c.json'),
      '--progress',
    ]);
    expect(json.code).toBe(0);
    expect(json.err).toMatch(/^ {2}hashed 1024 of 2110 records \(48%\)\n/);
  });

  it('verify --progress reports records on stderr; the verdict is the same', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 15);
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `${l.vkeys.join('\n')}\n`);
    const shown = await runCli(['verify', l.path, '--key-file', keys, '--progress', '--json']);
    const quiet = await runCli(['verify', l.path, '--key-file', keys, '--json']);
    expect(shown.code).toBe(0);
    expect(shown.err).toBe('  verified 15 of 15 records (100%)\n');
    expect(quiet.err).toBe('');
    expect(JSON.parse(shown.out)).toEqual(JSON.parse(quiet.out));
  });

  it('verify <segment dir> --progress counts records across segments', async () => {
    const dir = tempDir();
    const l = await makeSegmentedLedger(join(dir, 'logs'), { segments: [20, 20, 5] });
    const shown = await runCli(['verify', l.dir, '--key-file', l.keys.vkeyFile, '--progress']);
    const quiet = await runCli(['verify', l.dir, '--key-file', l.keys.vkeyFile]);
    expect(shown.code, shown.out).toBe(0);
    expect(shown.out).toBe(quiet.out);
    expect(quiet.err).toBe('');
    // At most a line a second: the first segment's line at least (21 rows: binding + 20).
    expect(shown.err).toMatch(/^ {2}verified 21 records\n/);
    for (const x of shown.err.split('\n').filter(Boolean)) expect(x).toMatch(/^ {2}verified \d+ records$/);
  });
});
