import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decodeBundleTimestamp, parseBundleShape } from '../../packages/core/src/bundle/parse.js';
import {
  anchorTimestampsPath,
  exportBundle,
  LedgerReader,
  type SealogError,
  splitAnchorNotes,
  verifyBundle,
  verifyLedger,
  verifyTimestampToken,
} from '../../packages/core/src/index.js';
import { type TestPki, type TestTsa, useTestTsa } from '../helpers/tsa.js';
import { checkpointRows, setup, sha256, writeRecords } from './harness.js';

// Tokens leave the ledger two ways: the anchor's token file (beside the anchor
// file, not in it) and evidence bundles (an optional `timestamps` field).
// Readers that predate them must be unharmed: today's verifyLedger over the
// anchor notes, and verifyBundle over a bundle with the field.

let pki: TestPki;
let tsa: TestTsa;
useTestTsa((started) => {
  ({ pki, tsa } = started);
});

async function stampedLedger() {
  const t = setup(pki);
  const errors: SealogError[] = [];
  await writeRecords(
    {
      path: t.path,
      checkpoint: {
        keyFile: t.keyFile,
        everyRecords: 100,
        anchorFile: t.anchor,
        timestamp: { mode: 'best-effort', urls: [tsa.url] },
      },
    },
    5,
    errors,
  );
  expect(errors).toEqual([]);
  return t;
}

describe('tokens beside the anchor file', () => {
  it('an inline token block would fail an intact ledger for anchor readers; the token file does not', async () => {
    const t = await stampedLedger();
    const anchorText = readFileSync(t.anchor, 'utf8');
    const line = readFileSync(anchorTimestampsPath(t.anchor), 'utf8').split('\n')[0]!;
    // Why tokens are not in the anchor file: a reader of notes sees a block it cannot parse.
    const notes = splitAnchorNotes(anchorText);
    const inline = [notes[0], `${line}\n`, ...notes.slice(1)].join('\n');
    const harmed = verifyLedger(t.path, { keys: t.keys, trusted: splitAnchorNotes(inline) });
    // Old readers take the block and the note after it for one note, which does not verify.
    expect(harmed.ok).toBe(false);
    expect(harmed.findings.map((f) => f.message)).toContainEqual(
      expect.stringMatching(/^trusted checkpoint #2: /),
    );
    // The layout used: the anchor holds only notes, and verifies as before.
    const report = verifyLedger(t.path, { keys: t.keys, trusted: notes });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
  }, 60_000);
});

describe('tokens in evidence bundles', () => {
  it('carries the tokens of the bundle checkpoint and anchor notes, from the ledger or the token file', async () => {
    const t = await stampedLedger();
    const anchorText = readFileSync(t.anchor, 'utf8');
    const reader = new LedgerReader(t.path);
    let fromLedger: ReturnType<typeof exportBundle>;
    try {
      fromLedger = exportBundle(reader, { query: { seqFrom: 10, seqTo: 20 }, keys: t.keys, anchorText });
    } finally {
      reader.close();
    }
    const b = fromLedger.bundle;
    const carried = [b.checkpoint, ...b.anchors.map((a) => a.note)];
    expect(b.anchors.length).toBe(2);
    // One token per distinct note (the newest anchor note is the bundle checkpoint itself).
    expect(b.timestamps?.length).toBe(new Set(carried).size);
    expect(b.timestamps!.length).toBeGreaterThan(1);
    for (const ts of b.timestamps!) {
      const note = carried.find((n) => sha256(n).toString('base64') === ts.noteSha256);
      expect(note, 'each token names a note the bundle carries').toBeDefined();
      verifyTimestampToken(Buffer.from(ts.token, 'base64'), Buffer.from(note!), { trustAnchors: pki.caPem });
    }
    expect(verifyBundle(JSON.stringify(b), { keys: t.keys }).status).toBe('ok');

    // The same tokens from the anchor's token file when the ledger has none (e.g. a copy made before).
    const db = new Database(t.path);
    db.exec('DROP TABLE checkpoint_timestamps');
    db.close();
    const again = new LedgerReader(t.path);
    try {
      const fromFile = exportBundle(again, {
        query: { seqFrom: 10, seqTo: 20 },
        keys: t.keys,
        anchorText,
        anchorTimestampsText: readFileSync(anchorTimestampsPath(t.anchor), 'utf8'),
        nowMs: Date.parse(b.manifest.exportedAt),
      });
      expect(fromFile.bundle.timestamps).toEqual(b.timestamps);
    } finally {
      again.close();
    }
    expect(checkpointRows(t.path).length).toBeGreaterThan(2);
  }, 60_000);

  it('parsing: old bundles have none; the field is bounded; items decode strictly', async () => {
    const t = await stampedLedger();
    const reader = new LedgerReader(t.path);
    const { bundle } = exportBundle(reader, { query: {}, keys: t.keys });
    reader.close();
    const { timestamps, ...old } = bundle;
    // One token per note, or two when a periodic and the closing seal signed the same head in one
    // second (a loaded machine: each note then has its own good token, as in storage.test).
    expect(timestamps?.length).toBeGreaterThanOrEqual(1);
    const parsed = parseBundleShape(JSON.stringify(old));
    expect('shape' in parsed && parsed.shape.timestamps).toEqual([]);
    expect(verifyBundle(JSON.stringify(old), { keys: t.keys }).status).toBe('ok');

    const item = timestamps![0]!;
    for (const bad of [{}, 'x', Array.from({ length: 257 }, () => item)]) {
      expect(parseBundleShape(JSON.stringify({ ...bundle, timestamps: bad }))).toEqual({
        error: expect.stringMatching(/timestamps must be a list of at most 256/),
      });
    }
    expect(decodeBundleTimestamp(item)).toMatchObject({ size: item.size });
    for (const bad of [
      null,
      { ...item, size: -1 },
      { ...item, size: 1.5 },
      { ...item, noteSha256: item.noteSha256.slice(4) },
      { ...item, token: `${item.token}A` },
      { ...item, token: '' },
      { ...item, token: 'A'.repeat(90_000) },
    ]) {
      expect(decodeBundleTimestamp(bad)).toBeUndefined();
    }
  }, 60_000);
});
