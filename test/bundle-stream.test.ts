import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportStream } from '../packages/core/src/bundle/stream.js';
import { type Bundle, LedgerReader } from '../packages/core/src/index.js';
import { appendRecords, seal, sealedLedger } from './bundle-fixture.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

// `sealog export --format jsonl` (issue 19 item 10): a streamed bundle, checked
// by `sealog verify-bundle` line by line. Everything through the real CLI.

const STREAM_TYPE = 'sealog/evidence-stream/v1';

/** A sealed ledger of `count` records, its key file, and a streamed export of the warnings. */
async function streamed(count = 15, extra: string[] = ['--level', 'warn']) {
  const dir = tempDir();
  const l = await sealedLedger(dir, count);
  const keys = join(dir, 'keys.txt');
  writeFileSync(keys, `${l.vkeys.join('\n')}\n`);
  const out = join(dir, 'b.jsonl');
  const e = await runCli([
    'export',
    l.path,
    '--key-file',
    keys,
    '--anchor',
    l.anchor,
    '--out',
    out,
    ...extra,
  ]);
  return { dir, l, keys, out, e };
}

/** The stream's lines (without the final empty one). */
const linesOf = (path: string) => readFileSync(path, 'utf8').split('\n').slice(0, -1);

describe('sealog export --format jsonl', () => {
  it('writes a header line and one line per record, which verify-bundle verifies', async () => {
    const { dir, l, keys, out, e } = await streamed();
    expect(e.err).toBe('');
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/exported 5 record\(s\) of audit.example.com\/billing \(seq 0\.\.12, 8 withheld\)/);
    const lines = linesOf(out);
    expect(lines).toHaveLength(6);
    const header = JSON.parse(lines[0]!);
    expect(header.type).toBe(STREAM_TYPE);
    expect(header.manifest.entryCount).toBe(5);
    expect(header.anchors.length).toBeGreaterThan(0);
    expect(header.entries).toBeUndefined();
    // The records are exactly the JSON bundle's entries, proofs included.
    const json = join(dir, 'b.json');
    expect(
      (await runCli(['export', l.path, '--key-file', keys, '--level', 'warn', '--out', json])).code,
    ).toBe(0);
    const bundle = JSON.parse(readFileSync(json, 'utf8')) as Bundle;
    expect(lines.slice(1).map((x) => JSON.parse(x))).toEqual(bundle.entries);

    const ok = await runCli(['verify-bundle', out, '--key-file', keys]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/^VERIFIED\n/);
    expect(ok.out).toMatch(/records: {4}5 of 5 verified/);
    expect(ok.out).toMatch(/anchor: {5}size \d+: ok/);
    // Without keys: self-consistent only, exit 1, as for a JSON bundle.
    const self = await runCli(['verify-bundle', out]);
    expect(self.code).toBe(1);
    expect(self.out).toMatch(/^NOT VERIFIED: self-consistent only/);
  });

  it('--format jsonl with any --out name; the JSON forms and --html stay as they were', async () => {
    const { dir, l, keys } = await streamed();
    const out = join(dir, 'evidence.txt');
    const e = await runCli(['export', l.path, '--key-file', keys, '--format', 'jsonl', '--out', out]);
    expect(e.code, e.err).toBe(0);
    expect(linesOf(out)).toHaveLength(16);
    const v = await runCli(['verify-bundle', out, '--key-file', keys]);
    expect(v.code, v.out).toBe(0);
    const usage = async (args: string[], message: RegExp) => {
      const r = await runCli(['export', l.path, '--key-file', keys, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
    };
    await usage(['--format', 'jsonl', '--html', join(dir, 'p.html')], /--html .* cannot be streamed/);
    await usage(['--format', 'csv', '--out', join(dir, 'x')], /--format must be jsonl or bundle, got "csv"/);
    await usage(['--format', 'jsonl'], /--format jsonl writes --out/);
  });

  it('refuses an existing --out and leaves it as it was', async () => {
    const { l, keys, out } = await streamed();
    const before = readFileSync(out);
    const again = await runCli(['export', l.path, '--key-file', keys, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/--out .*b\.jsonl already exists; choose another name or remove it/);
    expect(readFileSync(out)).toEqual(before);
  });

  it('catches a changed record, a dropped line, reordered lines and a truncated file', async () => {
    const { dir, keys, out } = await streamed();
    const lines = linesOf(out);
    const check = async (name: string, text: string, message: RegExp) => {
      const bad = join(dir, `${name}.jsonl`);
      writeFileSync(bad, text);
      const r = await runCli(['verify-bundle', bad, '--key-file', keys]);
      expect(r.code, `${name}: ${r.out}`).toBe(1);
      expect(r.out, name).toMatch(/^FAILED\n/);
      expect(r.out, name).toMatch(message);
    };
    const changed = JSON.parse(lines[2]!);
    const bytes = Buffer.from(changed.entry, 'base64');
    bytes[5]! ^= 1;
    changed.entry = bytes.toString('base64');
    const edited = [...lines];
    edited[2] = JSON.stringify(changed);
    await check('changed', `${edited.join('\n')}\n`, /problem: {4}record 3: entry bytes were changed/);
    const dropped = lines.filter((_, i) => i !== 3);
    await check(
      'dropped',
      `${dropped.join('\n')}\n`,
      /manifest disagrees with the bundle: entryCount 5 ≠ 4 records/,
    );
    const swapped = [lines[0]!, lines[1]!, lines[3]!, lines[2]!, lines[4]!, lines[5]!];
    await check('reordered', `${swapped.join('\n')}\n`, /record 3: seq is not above the previous record/);
    const text = `${lines.join('\n')}\n`;
    await check(
      'cut-in-line',
      text.slice(0, text.length - 40),
      /the file ends inside line 6 \(no final newline\): it was truncated/,
    );
    await check('cut-at-line', `${lines.slice(0, 4).join('\n')}\n`, /entryCount 5 ≠ 3 records/);
    await check(
      'not-json',
      `${[...lines.slice(0, 5), '{"seq":'].join('\n')}\n`,
      /line 6 is not a JSON record/,
    );
  });

  it('refuses an attacker-controlled huge line without reading it whole, and a broken header as unreadable', async () => {
    const { dir, keys, out } = await streamed();
    const lines = linesOf(out);
    const huge = join(dir, 'huge.jsonl');
    // A 16 MiB "record" with no newline: refused at the 4 MiB bound.
    writeFileSync(huge, `${lines[0]}\n${lines[1]}\n{"seq":2,"entry":"${'A'.repeat(16 * 1024 * 1024)}`);
    const r = await runCli(['verify-bundle', huge, '--key-file', keys]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /problem: {4}line 3 is longer than 4194304 bytes: refused unread, checking stopped/,
    );
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, lines[0]!.slice(0, 200));
    const c = await runCli(['verify-bundle', cut, '--key-file', keys]);
    expect(c.code).toBe(2);
    expect(c.out).toMatch(/^UNREADABLE\n[\s\S]*the file ends inside line 1 \(the header\): it was truncated/);
    const header = JSON.parse(lines[0]!);
    header.entries = [];
    writeFileSync(cut, `${JSON.stringify(header)}\n`);
    const withEntries = await runCli(['verify-bundle', cut, '--key-file', keys]);
    expect(withEntries.code).toBe(2);
    expect(withEntries.out).toMatch(/line 1 carries entries or a readme: not a stream header/);
  });
});

describe('exportStream (library)', () => {
  it('removes its partial file when the export fails part way', async () => {
    const dir = tempDir();
    const l = await sealedLedger(dir, 15);
    await appendRecords(l.path, 15, 2100);
    await seal(l, 1_760_000_600_000);
    const out = join(dir, 'partial.jsonl');
    const reader = new LedgerReader(l.path);
    let proving = 0;
    try {
      const failing = exportStream(
        reader,
        {
          query: {},
          keys: l.vkeys,
          // Fails after the header and 1024 records were handed to the file.
          onProgress: (p) => {
            if (p.stage === 'proving' && ++proving === 1) throw new Error('disk gone');
          },
        },
        out,
      );
      await expect(failing).rejects.toThrow(/disk gone/);
    } finally {
      reader.close();
    }
    expect(proving).toBe(1);
    expect(existsSync(out), 'no partial bundle is left behind').toBe(false);
  });
});
