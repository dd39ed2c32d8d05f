// Issue 19, item 5: `sealog tail -f` started before the app has created its
// ledger waits for it, like `tail -F` and `journalctl -f`, saying so once on
// stderr; Ctrl-C ends the wait cleanly. Without -f a missing ledger is an error.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../packages/cli/src/main.js';
import { Ledger } from '../packages/core/src/index.js';
import { startBin } from './helpers/bin.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

function tailInProcess(argv: string[]) {
  const ac = new AbortController();
  const io = { out: '', err: '' };
  const code = main(argv, {
    out: (t) => {
      io.out += t;
    },
    err: (t) => {
      io.err += t;
    },
    signal: ac.signal,
  });
  return { io, code, stop: () => ac.abort() };
}

describe('sealog tail -f on a ledger that does not exist yet', () => {
  it('waits, says so once, then prints the records once the app creates the ledger', async () => {
    const path = join(tempDir(), 'later.db');
    const t = tailInProcess(['tail', path, '-f']);
    await until('the waiting line', () => t.io.err !== '');
    expect(t.io.err).toBe(`sealog tail: waiting for ${path} to appear (Ctrl-C to stop)\n`);
    await new Promise((r) => setTimeout(r, 500)); // several polls: still one line
    const ledger = Ledger.open({ path });
    await ledger.append({ msg: 'first' });
    await until('the first record', () => t.io.out.includes('first'));
    await ledger.append({ msg: 'second' });
    await until('the second record', () => t.io.out.includes('second'));
    await ledger.close();
    t.stop();
    expect(await t.code).toBe(0);
    expect(t.io.err.split('\n').filter(Boolean)).toHaveLength(1);
    expect(t.io.out.match(/first|second/g)).toEqual(['first', 'second']);
  });

  it('an empty file (the writer has only just created it) is waited for too', async () => {
    const path = join(tempDir(), 'empty.db');
    writeFileSync(path, '');
    const t = tailInProcess(['tail', path, '-f', '--json']);
    await until('the waiting line', () => t.io.err.includes('waiting'));
    const ledger = Ledger.open({ path });
    await ledger.append({ msg: 'hello' });
    await until('the record', () => t.io.out.includes('hello'));
    await ledger.close();
    t.stop();
    expect(await t.code).toBe(0);
  });

  it('a file that is not a ledger is still an error, at once', async () => {
    const path = join(tempDir(), 'foreign.db');
    writeFileSync(path, 'not sqlite at all, just text that is long enough to have a header');
    const r = await runCli(['tail', path, '-f']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/E_NOT_LEDGER/);
  });

  it('a directory is not waited on: it is named as one, with the ledgers in it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'audit.db'), '');
    for (const argv of [
      ['tail', dir, '-f'],
      ['tail', dir],
    ]) {
      const r = await runCli(argv);
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        `sealog tail: E_IO: ${dir} is a directory, not a ledger file; give the ledger file in it: ${join(dir, 'audit.db')}\n`,
      );
    }
  });

  it('without -f a missing ledger stays an error', async () => {
    const path = join(tempDir(), 'nope.db');
    const r = await runCli(['tail', path]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`E_IO: ledger ${path} does not exist`);
  });

  it('Ctrl-C while waiting ends the built binary cleanly (exit 0)', async () => {
    const path = join(tempDir(), 'never.db');
    const tail = startBin(['tail', '-f', path]);
    await tail.until('the waiting line', () => tail.err.includes('waiting'), 200);
    const t0 = Date.now();
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1500); // ended by the signal, not the grace timer
    expect(tail.err).toBe(`sealog tail: waiting for ${path} to appear (Ctrl-C to stop)\n`);
  });
});
