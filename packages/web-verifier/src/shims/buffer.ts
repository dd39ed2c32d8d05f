// The part of Node's Buffer that core's note/key code calls (encoding.ts:
// base64/hex; note.ts: utf8; cosignature.ts: concat), for the browser
// build. Installed as globalThis.Buffer by main.ts before core loads.
// Semantics match Node for these calls; decodeBase64 in core validates the
// alphabet and canonical form itself, so the lenient decode here is safe.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class BufferShim extends Uint8Array {
  static override from(value: unknown, encodingOrOffset?: unknown, length?: unknown): BufferShim {
    if (typeof value === 'string') {
      if (encodingOrOffset === 'base64') {
        const bin = atob(value);
        const out = new BufferShim(bin.length);
        for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
        return out;
      }
      if (encodingOrOffset === undefined || encodingOrOffset === 'utf8' || encodingOrOffset === 'utf-8') {
        const bytes = new TextEncoder().encode(value);
        return new BufferShim(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      throw new Error(`Buffer shim: unsupported encoding ${String(encodingOrOffset)}`);
    }
    if (value instanceof ArrayBuffer) {
      // Like Node: a view on the same memory, not a copy.
      return new BufferShim(value, (encodingOrOffset as number) ?? 0, length as number | undefined);
    }
    if (value instanceof Uint8Array || Array.isArray(value)) {
      const out = new BufferShim(value.length);
      out.set(value as ArrayLike<number>);
      return out;
    }
    throw new Error('Buffer shim: unsupported Buffer.from argument');
  }

  static alloc(size: number): BufferShim {
    return new BufferShim(size);
  }

  static concat(list: readonly Uint8Array[]): BufferShim {
    const out = new BufferShim(list.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of list) {
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  static byteLength(s: string): number {
    return new TextEncoder().encode(s).length;
  }

  static isBuffer(v: unknown): boolean {
    return v instanceof BufferShim;
  }

  override toString(encoding = 'utf8'): string {
    if (encoding === 'hex') {
      let s = '';
      for (const b of this) s += HEX[b];
      return s;
    }
    if (encoding === 'base64') {
      let bin = '';
      for (let i = 0; i < this.length; i += 0x8000) {
        bin += String.fromCharCode(...this.subarray(i, i + 0x8000));
      }
      return btoa(bin);
    }
    return new TextDecoder().decode(this);
  }
}
