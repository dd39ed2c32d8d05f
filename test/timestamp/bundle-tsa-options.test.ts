import { describe, expect, it } from 'vitest';
import { verifyBundlePath } from '../../packages/core/src/index.js';

// The library API refuses what the CLI refuses: a TSA option other than the
// anchors, given without them, would otherwise be silently ignored and the
// caller would believe tokens were pinned or required.
describe('verifyBundlePath TSA options', () => {
  it.each([
    ['tsaSigners', { tsaSigners: '-----BEGIN CERTIFICATE-----' }],
    ['tsa', { tsa: 'required' as const }],
    ['tsaPolicy', { tsaPolicy: '1.2.3' }],
  ])('%s without tsaAnchors is E_CONFIG, before the bundle is read', (_name, options) => {
    expect(() => verifyBundlePath('/nonexistent/bundle.json', options)).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringMatching(/need tsaAnchors/) }),
    );
  });
});
