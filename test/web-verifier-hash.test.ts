import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as node from '../packages/core/src/hash.js';
import { BufferShim } from '../packages/web-verifier/src/shims/buffer.js';
import * as browser from '../packages/web-verifier/src/shims/hash.js';

// The browser build swaps core's hash.ts (node:crypto) for a @noble/hashes
// one and Node's Buffer for a small shim. Both must behave identically on
// what core calls, or the page and the CLI could disagree about a bundle.

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('browser shims agree with Node', () => {
  it('leafHash, nodeHash, chainHash, sha256, EMPTY_ROOT (format.md §2 worked example too)', () => {
    expect(hex(browser.EMPTY_ROOT)).toBe(hex(node.EMPTY_ROOT));
    expect(hex(browser.ZERO_HASH)).toBe(hex(node.ZERO_HASH));
    const entry = Buffer.from(
      '{"action":"login","actor":"psn:k1:3q2-7wAAAAAAAAAAAAAAAA","level":30,"msg":"user logged in","time":1700000000000}',
    );
    expect(hex(browser.leafHash(entry))).toBe(
      '693af742c67297e201f580e43ec76910e010b225421517f06e4a29832ae3f5fb',
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (a, b) => {
          expect(hex(browser.leafHash(a))).toBe(hex(node.leafHash(a)));
          expect(hex(browser.nodeHash(b, a))).toBe(hex(node.nodeHash(b, a)));
          expect(hex(browser.chainHash(b, a))).toBe(hex(node.chainHash(b, a)));
          expect(hex(browser.sha256(a, b, a))).toBe(hex(node.sha256(a, b, a)));
        },
      ),
    );
  });

  it('Buffer shim: base64, hex, utf8, concat, byteLength, views', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 50 }),
        (bytes, text) => {
          const b64 = Buffer.from(bytes).toString('base64');
          expect(BufferShim.from(bytes).toString('base64')).toBe(b64);
          expect(hex(BufferShim.from(b64, 'base64'))).toBe(hex(bytes));
          expect(BufferShim.from(bytes).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
          expect(hex(BufferShim.from(text, 'utf8'))).toBe(Buffer.from(text, 'utf8').toString('hex'));
          expect(BufferShim.byteLength(text)).toBe(Buffer.byteLength(text, 'utf8'));
          expect(hex(BufferShim.concat([bytes, BufferShim.from(text)]))).toBe(
            hex(Buffer.concat([bytes, Buffer.from(text)])),
          );
          // Like Node, from(arrayBuffer, offset, length) is a view on the same memory.
          const whole = new Uint8Array(bytes.length + 2);
          const view = BufferShim.from(whole.buffer, 1, bytes.length);
          view.set(bytes);
          expect(hex(whole.subarray(1, 1 + bytes.length))).toBe(hex(bytes));
        },
      ),
    );
  });
});
