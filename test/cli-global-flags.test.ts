// Typo'd global flags get a "did you mean" as typo'd command flags do (issue
// 19): `sealog --versoin` said only "unknown option".
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('the global flags are suggestion candidates', () => {
  for (const [typed, meant] of [
    ['--versoin', '--version'],
    ['--verison', '--version'],
    ['-version', '--version'],
    ['--hlep', '--help'],
    ['-v', '-V'],
  ] as const) {
    it(`sealog ${typed} → did you mean ${meant}?`, async () => {
      const r = await runCli([typed]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toContain(`unknown option "${typed}"; did you mean ${meant}?`);
    });
  }

  it('an option with no near global flag still says options follow the command', async () => {
    const r = await runCli(['--zzzzzz']);
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('did you mean');
    expect(r.err).toContain('options follow the command: sealog <command> [options]');
  });

  it('after a command, --help is a candidate too (sealog tail --hlep)', async () => {
    const r = await runCli(['tail', '--hlep']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown option --hlep for sealog tail; did you mean --help?');
    // The command's own flags still win where they are nearer.
    expect((await runCli(['tail', '--folow'])).err).toContain('did you mean --follow?');
  });

  it('sealog hlep → did you mean "help"?', async () => {
    const r = await runCli(['hlep']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "hlep"; did you mean "help"?');
  });
});
