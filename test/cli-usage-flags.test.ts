// "did you mean --x" reads a command's flags from its usage text
// (packages/cli/src/arg-errors.ts), so every flag a command's parseArgs takes
// must be in that text: checked here by recording what parseArgs is given.
import { describe, expect, it, vi } from 'vitest';
import { usageFlags } from '../packages/cli/src/arg-errors.js';
import { commands } from '../packages/cli/src/commands/index.js';
import { runCli } from './helpers/cli.js';

const seen = vi.hoisted(() => ({ calls: 0, options: [] as string[] }));

vi.mock('node:util', async (importOriginal) => {
  const util = await importOriginal<typeof import('node:util')>();
  return {
    ...util,
    parseArgs: ((config: Parameters<typeof util.parseArgs>[0]) => {
      seen.calls++;
      seen.options.push(...Object.keys(config?.options ?? {}));
      return util.parseArgs(config);
    }) as typeof util.parseArgs,
  };
});

/** Commands whose options belong to a subcommand. */
const SUBCOMMANDS: Record<string, string[]> = {
  dp: ['plan'],
  hold: ['add', 'release', 'list'],
  key: ['rotate'],
  witness: ['keygen', 'serve'],
};

describe('every flag a command parses is in its usage text', () => {
  for (const command of commands) {
    for (const sub of SUBCOMMANDS[command.name] ?? ['']) {
      it(`${command.name} ${sub}`.trim(), async () => {
        seen.calls = 0;
        seen.options = [];
        // An unknown flag: each command parses its options first, then refuses.
        const r = await runCli([command.name, ...(sub ? [sub] : []), '--zzz-not-a-flag']);
        expect(r.code).toBe(2);
        expect(seen.calls, `${command.name} did not call parseArgs`).toBeGreaterThan(0);
        const documented = usageFlags(command.usage);
        expect(seen.options.filter((o) => !documented.includes(o))).toEqual([]);
      });
    }
  }
});
