// The thread that owns an async budget store (PostgreSQL) for budget-bridge.ts.
// One request at a time: the caller sends only when the state is IDLE. A reply
// is posted, then the state moves PENDING → DONE; when the caller gave up first
// (ABANDONED), a granted lease is given back at once, since no one will use it.
import { type MessagePort, workerData } from 'node:worker_threads';
import { SealogError } from '../errors.js';
import type { PgTarget } from '../store/postgres/url.js';
import type { Settlement } from './budget.js';
import type { Currency } from './budget-accounting.js';
import { PgBudgetStore } from './budget-postgres.js';

export const IDLE = 0;
export const PENDING = 1;
export const DONE = 2;
export const ABANDONED = 3;

export interface BudgetWorkerData {
  port: MessagePort;
  state: SharedArrayBuffer;
  target: PgTarget;
  lockTimeoutMs?: number;
  queryTimeoutMs?: number;
  /** One entry per currency (budget-accounting.ts) to open a store for, with its lifetime cap. */
  currencies: ({ lifetime?: number } | undefined)[];
}

/** A step on the store of currency `c`. */
export type BudgetRequest =
  | { id: number; op: 'open' }
  | { id: number; op: 'close' }
  | { id: number; c: number; op: 'take'; args: [string, number, number, number, number] }
  | { id: number; c: number; op: 'settle'; args: [number, Settlement[], boolean] }
  | { id: number; c: number; op: 'prune'; args: [number] };

/** A reply; an error carries only a SealogError's code and message (they name no unit or value). */
export type BudgetReply =
  | { id: number; ok: true; value: number }
  | { id: number; ok: false; code?: string; message: string };

const data = workerData as BudgetWorkerData | undefined;
if (data?.port) {
  const { port, target } = data;
  const state = new Int32Array(data.state);
  let stores: (PgBudgetStore | undefined)[] = [];
  const run = async (m: BudgetRequest): Promise<number> => {
    if (m.op === 'open') {
      for (const [c, o] of data.currencies.entries()) {
        if (!o) continue;
        stores[c] = await PgBudgetStore.open(target, {
          currency: c as Currency,
          ...(o.lifetime !== undefined ? { lifetime: o.lifetime } : {}),
          ...(data.lockTimeoutMs !== undefined ? { lockTimeoutMs: data.lockTimeoutMs } : {}),
          ...(data.queryTimeoutMs !== undefined ? { queryTimeoutMs: data.queryTimeoutMs } : {}),
        });
      }
      return 0;
    }
    if (m.op === 'close') {
      await Promise.all(stores.map((s) => s?.close()));
      stores = [];
      return 0;
    }
    const store = stores[m.c];
    if (!store) throw new SealogError('E_IO', 'the ε budget store is not open');
    if (m.op === 'take') return store.take(...m.args);
    if (m.op === 'settle') await store.settle(m.args[0], m.args[1], m.args[2]);
    else if (m.op === 'prune') await store.prune(m.args[0]);
    return 0;
  };
  port.on('message', async (m: BudgetRequest) => {
    let reply: BudgetReply;
    try {
      reply = { id: m.id, ok: true, value: await run(m) };
    } catch (err) {
      reply =
        err instanceof SealogError
          ? { id: m.id, ok: false, code: err.code, message: err.message }
          : { id: m.id, ok: false, message: 'the ε budget table could not be read or written' };
    }
    port.postMessage(reply);
    if (Atomics.compareExchange(state, 0, PENDING, DONE) === PENDING) {
      Atomics.notify(state, 0);
    } else {
      // The caller stopped waiting: a lease it never saw goes back now (lost, counted as spent, if this fails).
      const store = m.op === 'take' ? stores[m.c] : undefined;
      if (m.op === 'take' && reply.ok && reply.value > 0 && store) {
        await store.settle(m.args[1], [{ unit: m.args[0], used: 0, unused: reply.value }]).catch(() => {});
      }
      Atomics.store(state, 0, IDLE);
    }
    if (m.op === 'close') port.close();
  });
}
