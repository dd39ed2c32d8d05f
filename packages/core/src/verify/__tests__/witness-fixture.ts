import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { appendAnchor } from '../../checkpoint/anchor.js';
import { signCheckpoint } from '../../checkpoint/signed.js';
import type { Cosigner } from '../../note/keys.js';
import { generateKey, parseSignerKey } from '../../note/keys.js';
import { cosign, parseNote } from '../../note/note.js';
import { SqliteStore } from '../../store/sqlite.js';
import { generateWitnessKey, parseWitnessKey } from '../../witness/key.js';
import { mergeCosignatures } from '../../witness/quorum.js';
import { entryOf, type Fixture } from './fixture.js';

// A real ledger whose checkpoints are cosigned by witnesses the way the
// writer stores them (issue 16's storage contract): the log's note is stored
// and anchored first; when witnesses cosign, the merged note (same body, the
// log's lines, then the witnesses' cosignature/v1 lines) is stored as another
// checkpoint row and appended to the anchor file as another note.

/** A witness key pair: the cosigner that signs and the verifier key a relying party is given. */
export interface TestWitness {
  name: string;
  cosigner: Cosigner;
  vkey: string;
}

export function makeWitness(name: string): TestWitness {
  const k = generateWitnessKey(name);
  return { name, cosigner: parseWitnessKey(k.privateKey), vkey: k.verifierKey };
}

/** One cosignature/v1 line by `w` over the body of `note`, stamped `time`. */
export function cosignLine(note: string, w: TestWitness, time: number): string {
  return cosign(parseNote(note).text, w.cosigner, time);
}

export interface WitnessedFixture extends Fixture {
  /** The log's own note at each sealed size. */
  notes: Map<number, string>;
  /** The merged note stored at each cosigned size. */
  merged: Map<number, string>;
}

/**
 * `records` records sealed every `every`; the checkpoint at size n is cosigned
 * by `cosign(n)` (none by default), each witness stamping time 1_800_000_000 + n.
 * `where` says where merged notes go: ledger rows and anchor (default), or one only.
 */
export function witnessedLedger(opts: {
  records: number;
  every: number;
  cosign?: (size: number) => readonly TestWitness[];
  where?: 'both' | 'ledger' | 'anchor';
  origin?: string;
  /** The log's private key (default: a fresh one); a second ledger with the same key is a stolen-key rewrite. */
  privateKey?: string;
  /** Entry bytes of record i (default entryOf); its time must be 1_700_000_000_000 + i. */
  entry?: (i: number) => Buffer;
}): WitnessedFixture {
  const dir = mkdtempSync(join(tmpdir(), 'sealog-witnessed-'));
  const origin = opts.origin ?? 'audit.example/log';
  const key = opts.privateKey
    ? { privateKey: opts.privateKey, ...verifierKeysOf(opts.privateKey) }
    : generateKey(origin);
  const signer = parseSignerKey(key.privateKey);
  const f: WitnessedFixture = {
    dir,
    path: join(dir, 'ledger.db'),
    anchor: join(dir, 'anchor.txt'),
    origin,
    vkey: key.verifierKey,
    cosignerVkey: key.cosignerVerifierKey,
    privateKey: key.privateKey,
    notes: new Map(),
    merged: new Map(),
  };
  const store = new SqliteStore(f.path);
  const where = opts.where ?? 'both';
  for (let i = 0; i < opts.records; ) {
    const n = Math.min(opts.every, opts.records - i);
    store.append(
      Array.from({ length: n }, (_, k) => ({ entry: entryOf(i + k), ts: 1_700_000_000_000 + i + k })),
    );
    i += n;
    const head = store.head();
    const note = signCheckpoint(
      { origin, size: head.size, root: head.root },
      signer,
      1_700_000_000 + head.size,
    );
    store.addCheckpoint(head, note, Date.now());
    appendAnchor(f.anchor, note);
    f.notes.set(head.size, note);
    const witnesses = opts.cosign?.(head.size) ?? [];
    if (witnesses.length === 0) continue;
    const merged = mergeCosignatures(
      note,
      witnesses.map((w) => cosignLine(note, w, 1_800_000_000 + head.size)),
    );
    f.merged.set(head.size, merged);
    if (where !== 'anchor') store.addCheckpoint(head, merged, Date.now());
    if (where !== 'ledger') appendAnchor(f.anchor, merged);
  }
  store.close();
  return f;
}

function verifierKeysOf(privateKey: string): { verifierKey: string; cosignerVerifierKey: string } {
  const s = parseSignerKey(privateKey);
  return { verifierKey: s.verifierKey, cosignerVerifierKey: s.timeCosigner().verifierKey };
}

/**
 * Stores `note` as one more checkpoint row beside row `likeId` (same size and
 * resume state), with plain SQL: what anyone who can write the file can do.
 */
export function addNoteRow(path: string, likeId: number, note: string): number {
  const db = new Database(path);
  try {
    const r = db
      .prepare(
        'INSERT INTO checkpoints (size, note, created_at, chain_head, compact) SELECT size, ?, created_at, chain_head, compact FROM checkpoints WHERE id = ?',
      )
      .run(note, likeId);
    return Number(r.lastInsertRowid);
  } finally {
    db.close();
  }
}
