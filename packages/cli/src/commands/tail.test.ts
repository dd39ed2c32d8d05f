import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { Ledger } from '../../../core/src/index.js';

const BIN = join(import.meta.dirname, '../../dist/bin.js');

async function ledgerWith(records: object[]): Promise<string> {
  const path = join(tempDir(), 'a.db');
  const ledger = Ledger.open({ path });
  for (const r of records) ledger.write(r);
  await ledger.close();
  return path;
}

describe('sealog tail', () => {
  it('prints the newest N records oldest first, readable, with the remaining fields', async () => {
    const path = await ledgerWith(
      Array.from({ length: 20 }, (_, i) => ({
        time: Date.UTC(2026, 0, 1, 0, 0, i),
        level: 30,
        msg: `m${i}`,
        user: 'psn:k:x',
      })),
    );
    const { code, out } = await runCli(['tail', path, '-n', '3']);
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toEqual([
      '#17 2026-01-01T00:00:17.000Z INFO  m17 user=psn:k:x',
      '#18 2026-01-01T00:00:18.000Z INFO  m18 user=psn:k:x',
      '#19 2026-01-01T00:00:19.000Z INFO  m19 user=psn:k:x',
    ]);
  });

  it('--json prints seq, then the exact stored entry, one per line', async () => {
    const path = await ledgerWith([{ b: 1, a: 'x\ny', time: 5 }]);
    const { out } = await runCli(['tail', path, '--json']);
    expect(out).toBe('{"seq":0,"a":"x\\ny","b":1,"time":5}\n');
  });

  it('escapes control characters and ANSI sequences so a record cannot forge lines', async () => {
    const path = await ledgerWith([
      { level: 'warn', message: 'evil\n#99 1970 INFO  forged\u001b[2J\u0007', 'k\r': 'v\u009b' },
    ]);
    const { out } = await runCli(['tail', path]);
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);
    expect(out).toContain('evil\\n#99 1970 INFO  forged\\x1b[2J\\x07');
    expect(out).toContain('k\\r=v\\x9b');
    expect(out.trimEnd()).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('escapes bidi controls and line separators, so a line cannot display reordered or split', async () => {
    const path = await ledgerWith([{ msg: 'pay \u202eevil\u202c \u2066x\u2069 a\u2028b', time: 5 }]);
    const { out } = await runCli(['tail', path]);
    expect(out).toContain('pay \\u202eevil\\u202c \\u2066x\\u2069 a\\u2028b');
    const json = await runCli(['tail', path, '--json']);
    expect(json.out).toBe('{"seq":0,"msg":"pay \u202eevil\u202c \u2066x\u2069 a\\u2028b","time":5}\n');
    expect(JSON.parse(json.out).msg).toBe('pay \u202eevil\u202c \u2066x\u2069 a\u2028b');
  });

  it('exits 2 with a clear message on usage errors, missing files and foreign files', async () => {
    expect((await runCli(['tail'])).code).toBe(2);
    const bad = await runCli(['tail', '/nonexistent/x.db']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/E_IO: ledger \/nonexistent\/x.db does not exist/);
    expect((await runCli(['tail', '-n', 'lots', '/x'])).err).toMatch(
      /--lines must be a non-negative integer/,
    );
    expect((await runCli(['tail', '--bogus', '/x'])).code).toBe(2);
  });

  it('-f follows records appended by another process, without blocking it', async () => {
    const path = await ledgerWith([{ msg: 'before' }]);
    const child = spawn(process.execPath, [BIN, 'tail', path, '-f'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const waitFor = async (s: string) => {
      for (let i = 0; i < 200 && !out.includes(s); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain(s);
    };
    await waitFor('before');
    const ledger = Ledger.open({ path });
    for (let i = 0; i < 3; i++) await ledger.append({ msg: `after-${i}` });
    await ledger.close();
    await waitFor('after-2');
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(out.match(/after-\d/g)).toEqual(['after-0', 'after-1', 'after-2']);
  });
});
