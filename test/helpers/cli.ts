import { main } from '../../packages/cli/src/main.js';

/** Runs the CLI in-process and captures its output and exit code. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    signal: new AbortController().signal,
  });
  return { code, out, err };
}
