import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSealogError } from '../errors.js';
import { lockSegmentDir } from './lock.js';

// The owner file beside the lock is written and read by whoever runs prune,
// hold or erase, in a directory others may write: names planted there must not
// redirect the write or block the command (red-team review, session 9).

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function segmentDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-lock-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'seg-000001.db'), '');
  return dir;
}

describe('lockSegmentDir with planted owner files', () => {
  it('a link planted under the temporary owner name is replaced, its target left alone', () => {
    const dir = segmentDir();
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(dir, `.sealog.lock.owner.${process.pid}`));
    const lock = lockSegmentDir(dir, 'sealog test');
    try {
      expect(readFileSync(victim, 'utf8')).toBe('precious');
      expect(readFileSync(join(dir, 'sealog.lock.owner'), 'utf8')).toMatch(/^sealog test pid \d+ /);
    } finally {
      lock.release();
    }
  });

  it('a FIFO planted under the temporary owner name does not block the holder', () => {
    const dir = segmentDir();
    execFileSync('mkfifo', [join(dir, `.sealog.lock.owner.${process.pid}`)]);
    // Before the fix this call never returned (writeFileSync opened the FIFO and waited for a reader).
    lockSegmentDir(dir, 'sealog test').release();
  });

  it('a directory planted under the temporary owner name costs only the owner line', () => {
    const dir = segmentDir();
    mkdirSync(join(dir, `.sealog.lock.owner.${process.pid}`));
    lockSegmentDir(dir, 'sealog test').release();
    expect(() => lockSegmentDir(dir, 'sealog again').release()).not.toThrow();
  });

  it('a FIFO as the owner file does not block the refusal of a second command', () => {
    const dir = segmentDir();
    const first = lockSegmentDir(dir, 'sealog test');
    try {
      rmSync(join(dir, 'sealog.lock.owner'));
      execFileSync('mkfifo', [join(dir, 'sealog.lock.owner')]);
      let err: unknown;
      try {
        lockSegmentDir(dir, 'sealog second').release();
      } catch (e) {
        err = e;
      }
      expect(isSealogError(err) && err.code).toBe('E_IO');
      expect((err as Error).message).toMatch(/another sealog prune, hold or erase is working on/);
    } finally {
      first.release();
    }
  });
});
