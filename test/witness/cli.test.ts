import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  generateKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE,
  writeKeyFile,
} from '../../packages/core/src/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('sealog witness keygen / serve --config validation', () => {
  it('keygen writes a 0600 key and prints its type 0x04 verifier key; never overwrites', async () => {
    const dir = tempDir();
    const out = join(dir, 'w.key');
    const r = await runCli(['witness', 'keygen', '--name', 'witness.example/w1', '--out', out]);
    expect(r.code).toBe(0);
    const vk = parseVerifierKey(r.out.trim());
    expect(vk.type).toBe(SIG_TYPE_COSIGNATURE);
    expect(vk.name).toBe('witness.example/w1');
    expect((await runCli(['witness', 'keygen', '--name', 'witness.example/w1', '--out', out])).code).toBe(2);
    expect((await runCli(['witness', 'keygen', '--name', 'w'])).err).toMatch(/--out/);
    expect((await runCli(['witness'])).code).toBe(2);
  });

  it('serve refuses a bad config before listening, naming the field', async () => {
    const dir = tempDir();
    const key = join(dir, 'w.key');
    await runCli(['witness', 'keygen', '--name', 'w.example/1', '--out', key]);
    const log = generateKey('audit.example/log');
    const good = {
      keyFile: key,
      stateFile: 'w.db',
      listen: '127.0.0.1:0',
      logs: [{ origin: 'audit.example/log', key: log.verifierKey }],
    };
    const cases: [string, unknown, RegExp][] = [
      ['unknown field', { ...good, lgos: [] }, /unknown option "lgos"/],
      ['no listen', { ...good, listen: undefined }, /"listen"/],
      ['bad listen', { ...good, listen: 'localhost' }, /"listen"/],
      ['port too big', { ...good, listen: '127.0.0.1:70000' }, /"listen"/],
      ['no logs', { ...good, logs: [] }, /"logs"/],
      [
        'log key is a cosigner key',
        { ...good, logs: [{ origin: 'a', key: log.cosignerVerifierKey }] },
        /"logs\[0\]\.key" must be the log's signing key/,
      ],
      [
        'log key malformed',
        { ...good, logs: [{ origin: 'a', key: 'nope' }] },
        /"logs\[0\]\.key" is not a verifier key/,
      ],
      ['duplicate origin', { ...good, logs: [good.logs[0], good.logs[0]] }, /"logs\[1\]\.origin" repeats/],
      [
        'origin with a newline',
        { ...good, logs: [{ origin: 'a\nb', key: log.verifierKey }] },
        /"logs\[0\]\.origin"/,
      ],
      [
        'unknown log field',
        { ...good, logs: [{ ...good.logs[0], keys: [] }] },
        /unknown option "logs\[0\]\.keys"/,
      ],
      ['no stateFile', { ...good, stateFile: '' }, /"stateFile"/],
    ];
    for (const [what, config, message] of cases) {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify(config));
      const r = await runCli(['witness', 'serve', '--config', file]);
      expect(r.code, what).toBe(2);
      expect(r.err, what).toMatch(message);
    }
    const file = join(dir, 'c.json');
    writeFileSync(file, '{ not json');
    expect((await runCli(['witness', 'serve', '--config', file])).err).toMatch(/not valid JSON/);
    // A log signing key as the witness key is refused: one key, one signature type.
    const logKeyFile = join(dir, 'log.key');
    writeKeyFile(logKeyFile, log.privateKey);
    writeFileSync(file, JSON.stringify({ ...good, keyFile: logKeyFile }));
    expect((await runCli(['witness', 'serve', '--config', file])).err).toMatch(/E_KEY: .*log signing key/);
    chmodSync(key, 0o640);
    writeFileSync(file, JSON.stringify(good));
    expect((await runCli(['witness', 'serve', '--config', file])).err).toMatch(
      /accessible by group or others/,
    );
  });
});
