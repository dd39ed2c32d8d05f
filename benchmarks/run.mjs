// Runs every benchmark scenario, each in its own process, one after another
// (`pnpm bench`; `--quick` for the seconds-long mode the test suite runs).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const quick = process.argv.includes('--quick');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SCENARIOS = [
  'stages',
  'privacy',
  'disk',
  'pino-app-side',
  'pino-overload',
  'pino-sustained',
  'winston',
  'multi-writer',
  'verify',
  'writer-open',
  'segments',
  'postgres',
];
for (const name of only.length ? only : SCENARIOS) {
  const file = join(import.meta.dirname, `${name}.mjs`);
  execFileSync(process.execPath, [file, ...(quick ? ['--quick'] : [])], {
    stdio: 'inherit',
    env: { ...process.env, ...(quick ? { SEALOG_BENCH_QUICK: '1' } : {}) },
  });
}
