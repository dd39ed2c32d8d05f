import { describe, expect, it } from 'vitest';
import { bindingEntry, parseBinding } from './binding.js';

const root = new Uint8Array(32).fill(7);

describe('segment binding entry', () => {
  it('round-trips segment 1 and a later segment', () => {
    const first = bindingEntry({ index: 1, base: 0 }, 1000);
    expect(parseBinding(first.entry)).toEqual({ index: 1, base: 0 });
    const later = bindingEntry({ index: 3, base: 120, prev: { size: 20, root } }, 2000);
    expect(parseBinding(later.entry)).toEqual({ index: 3, base: 120, prev: { size: 20, root } });
  });

  it('is not a binding when row 0 is an ordinary record', () => {
    expect(parseBinding('{"level":30,"msg":"hi"}')).toBeUndefined();
  });

  it('refuses anything but the exact canonical bytes', () => {
    const text = bindingEntry({ index: 2, base: 5, prev: { size: 5, root } }, 9).entry.toString('utf8');
    const edits = [
      text.replace('"index":2', '"index":2.0'),
      text.replace('"index":2', '"index":1'), // segment 1 with a prev
      text.replace('"base":5', '"base":4'), // base below prev.size
      text.replace('"size":5', '"size":0'),
      text.replace('"time":9', '"time":-9'),
      text.replace('"msg":"', '"msg":" '),
      text.replace('}}}', ',"extra":1}}}'),
      text.replace(Buffer.from(root).toString('base64'), Buffer.from(root.subarray(1)).toString('base64')),
      `${text} `,
      `{"_sealog":{"segment":${'['.repeat(2000)}`,
    ];
    for (const e of edits) expect(parseBinding(e), e.slice(0, 120)).toBe('malformed');
  });

  it('refuses to write a binding that breaks the rules', () => {
    expect(() => bindingEntry({ index: 2, base: 0 }, 1)).toThrow(RangeError);
    expect(() => bindingEntry({ index: 1, base: 3 }, 1)).toThrow(RangeError);
    expect(() => bindingEntry({ index: 0, base: 0 }, 1)).toThrow(RangeError);
  });
});
