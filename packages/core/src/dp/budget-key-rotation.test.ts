import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSink } from '../sink.js';

// docs/differential-privacy.md, "A pseudonym key rotation starts every unit
// afresh": budgets are kept per stored pseudonym, and a pseudonym under a new
// key ID is a new unit. This pins that documented behaviour (red team, session
// 11: it was undocumented while the docs said the lifetime cap never resets),
// so a change to it is seen and the docs changed with it.
describe('budgets across a pseudonym key rotation', () => {
  it('a new key ID gives the same person a fresh window budget and lifetime cap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealog-rotation-'));
    for (const id of ['k1', 'k2'])
      writeFileSync(join(dir, `${id}.key`), randomBytes(32).toString('base64'), { mode: 0o600 });
    const keys = ['k1', 'k2'].map((id) => ({ id, file: join(dir, `${id}.key`) }));
    const noise = {
      unit: 'user.id',
      budget: { epsilon: 4, windowSeconds: 86_400, lifetime: { epsilon: 4 } },
      fields: { ms: { mechanism: 'laplace' as const, epsilon: 2, lower: 0, upper: 500, granularity: 1 } },
    };
    const path = join(dir, 'audit.db');
    for (const current of ['k1', 'k2']) {
      const sink = await openSink({
        path,
        privacy: { pseudonymize: { paths: ['user.id'], keys, current }, noise },
      });
      for (let i = 0; i < 4; i++) sink.write({ key: current, user: { id: 'alice@example.com' }, ms: 100 });
      await sink.close();
    }
    const db = new Database(path, { readonly: true });
    const noisedBy = new Map<string, number>();
    const reasons = new Set<string>();
    for (const { entry } of db.prepare('SELECT entry FROM records').all() as { entry: Buffer }[]) {
      const e = JSON.parse(entry.toString()) as { key?: string; ms?: { dp?: string; reason?: string } };
      if (e.ms?.dp === 'laplace') noisedBy.set(e.key!, (noisedBy.get(e.key!) ?? 0) + 1);
      else if (e.ms?.reason) reasons.add(e.ms.reason);
    }
    const units = db.prepare('SELECT unit FROM dp_lifetime').all() as { unit: string }[];
    db.close();
    // Two values (ε 4 / ε 2) under each key: the cap counted per pseudonym, not per person.
    expect(Object.fromEntries(noisedBy)).toEqual({ k1: 2, k2: 2 });
    expect(reasons.size).toBeGreaterThan(0);
    expect(units.map((u) => u.unit.slice(0, 7)).sort()).toEqual(['psn:k1:', 'psn:k2:']);
  });
});
