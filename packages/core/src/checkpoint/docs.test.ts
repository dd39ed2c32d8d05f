// Keeps docs/checkpoints.md honest: its worked example is parsed from the doc
// and recomputed from the key, the entries and the time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leafHash } from '../hash.js';
import { rootFromLeaves } from '../merkle.js';
import { parseSignerKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import { openCheckpoint, signCheckpoint } from './signed.js';

const doc = readFileSync(join(import.meta.dirname, '../../../../docs/checkpoints.md'), 'utf8');
const section =
  /<!-- checkpoint-example:begin -->\n([\s\S]*?)<!-- checkpoint-example:end -->/.exec(doc)?.[1] ?? '';
const blocks = [...section.matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
const fields = Object.fromEntries(
  (blocks[0] ?? '')
    .trimEnd()
    .split('\n')
    .map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    }),
) as Record<string, string>;
const note = blocks[1] ?? '';

describe('docs/checkpoints.md worked example', () => {
  it('is present', () => {
    expect(blocks).toHaveLength(2);
    expect(Object.keys(fields)).toEqual([
      'private key',
      'verifier key',
      'cosigner key',
      'entry[0]',
      'entry[1]',
      'time',
    ]);
  });

  it('keys: the verifier and cosigner keys follow from the private key', () => {
    const signer = parseSignerKey(fields['private key'] ?? '');
    expect(signer.verifierKey).toBe(fields['verifier key']);
    expect(signer.timeCosigner().verifierKey).toBe(fields['cosigner key']);
  });

  it('note: signing the 2-record root at the given time yields the documented note byte for byte', () => {
    const signer = parseSignerKey(fields['private key'] ?? '');
    const leaves = [fields['entry[0]'], fields['entry[1]']].map((e) =>
      leafHash(Buffer.from(e ?? '', 'utf8')),
    );
    const root = rootFromLeaves(leaves);
    expect(signCheckpoint({ origin: signer.name, size: 2, root }, signer, Number(fields.time))).toBe(note);
    const opened = openCheckpoint(note, [fields['verifier key'] ?? '', fields['cosigner key'] ?? '']);
    expect(opened.time).toBe(1700000100);
    expect(Buffer.from(opened.checkpoint.root).toString('base64')).toBe(
      'nJz/01ztze04yAc9NzUBU9pEb9GrOv2QQWprfcqff7I=',
    );
  });

  it('the byte-level reading in the prose is right', () => {
    const [log, time] = parseNote(note).signatures;
    expect(Buffer.from(log?.keyId ?? []).toString('hex')).toBe('1d941cd1');
    expect(Buffer.from(time?.keyId ?? []).toString('hex')).toBe('5a04316f');
    expect(Buffer.from(time?.signature.subarray(0, 8) ?? []).toString('hex')).toBe('000000006553f164');
    expect(doc).toContain('`AAAAAGVT8WQ=` is\n  `0x000000006553f164`');
    expect(Buffer.from('000000006553f164', 'hex').toString('base64')).toBe('AAAAAGVT8WQ=');
  });
});
