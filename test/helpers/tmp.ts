import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the current test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sealog-test-'));
  dirs.push(d);
  return d;
}
