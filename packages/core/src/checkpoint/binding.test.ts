import { execFileSync } from 'node:child_process';
import { readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../../test/helpers/node-script.js';
import { tempDir } from '../../../../test/helpers/tmp.js';

// The built module: bindAnchor is synchronous, so only separate processes can race it
// (the way four writers of one ledger do at startup).
const BINDING = pathToFileURL(resolve(import.meta.dirname, '../../dist/checkpoint/binding.js')).href;
const WRITERS = 6;
const ANCHORS = 2000;

describe('bindAnchor', () => {
  // CI saw one of four writers of one ledger refused at startup: it found the
  // binding file created but not yet written ("" is not its ledger). Each process
  // here binds the same fresh anchors to the same ledger, in step; none may be refused.
  it('writers of one ledger racing to bind fresh anchors are never refused', async () => {
    const dir = tempDir();
    const start = Date.now() + 1500;
    const script = `
      import { bindAnchor } from ${JSON.stringify(BINDING)};
      while (Date.now() < ${start}) {}
      let refused = 0;
      for (let i = 0; i < ${ANCHORS}; i++) {
        try { bindAnchor(${JSON.stringify(dir)} + '/a' + i + '.txt', 'sqlite /x/ledger.db'); }
        catch (e) { refused++; }
      }
      process.stdout.write(String(refused));
    `;
    const refused = await Promise.all(Array.from({ length: WRITERS }, () => runScript(script)));
    expect(refused.map(Number)).toEqual(Array(WRITERS).fill(0));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a second ledger, naming the binding file', async () => {
    const { bindAnchor } = await import('./binding.js');
    const anchor = join(tempDir(), 'anchor.txt');
    bindAnchor(anchor, 'sqlite /x/one.db');
    bindAnchor(anchor, 'sqlite /x/one.db');
    expect(() => bindAnchor(anchor, 'sqlite /x/two.db')).toThrow(
      /already seals another ledger .*anchor\.txt\.ledger/,
    );
  });

  // Red team: a FIFO planted as the binding hung openSink for good (a synchronous
  // read on the app's thread under winston), and a link to /dev/zero read without end.
  it('refuses a FIFO or a link to a device planted as the binding, without blocking', async () => {
    const { bindAnchor } = await import('./binding.js');
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'fifo.txt.ledger')]);
    expect(() => bindAnchor(join(dir, 'fifo.txt'), 'sqlite /x/one.db')).toThrow(/is not a regular file/);
    symlinkSync('/dev/zero', join(dir, 'zero.txt.ledger'));
    expect(() => bindAnchor(join(dir, 'zero.txt'), 'sqlite /x/one.db')).toThrow(/is not a regular file/);
    writeFileSync(join(dir, 'big.txt.ledger'), 'x'.repeat(5000));
    expect(() => bindAnchor(join(dir, 'big.txt'), 'sqlite /x/one.db')).toThrow(/at most 4096 bytes/);
  });
});
