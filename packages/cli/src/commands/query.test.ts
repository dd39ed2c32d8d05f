import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../test/helpers/cli.js';
import { tempDir } from '../../../../test/helpers/tmp.js';
import { Ledger } from '../../../core/src/index.js';

const T0 = Date.UTC(2026, 0, 1);
const LEVELS = [20, 30, 40, 50];

async function sample(): Promise<string> {
  const path = join(tempDir(), 'q.db');
  const ledger = Ledger.open({ path });
  for (let i = 0; i < 40; i++) {
    ledger.write({
      time: T0 + i * 60_000,
      level: LEVELS[i % 4],
      msg: i === 7 ? '=HYPERLINK("http://evil")' : `event ${i}`,
      actor: { id: `psn:k1:user${i % 3}` },
      action: i % 2 ? 'export' : 'login',
    });
  }
  ledger.write({
    timestamp: new Date(T0 + 3_600_000).toISOString(),
    level: 'error',
    message: 'winston style',
  });
  await ledger.close();
  return path;
}

const seqs = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(/^#(\d+)/.exec(l)?.[1]));

describe('sealog query / tail filters', () => {
  it('--level keeps that level and more severe, for pino numbers and winston names', async () => {
    const path = await sample();
    const { out } = await runCli(['query', path, '--level', 'error']);
    expect(seqs(out)).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 40]);
  });

  it('--from/--to select a time range using the entry time', async () => {
    const path = await sample();
    const from = new Date(T0 + 10 * 60_000).toISOString();
    const to = new Date(T0 + 13 * 60_000).toISOString();
    expect(seqs((await runCli(['query', path, '--from', from, '--to', to])).out)).toEqual([10, 11, 12]);
  });

  it('--where equality and substring on dotted paths, combined with --grep and --seq', async () => {
    const path = await sample();
    const eq = await runCli(['query', path, '--where', 'actor.id=psn:k1:user2', '--where', 'action=export']);
    expect(seqs(eq.out)).toEqual([5, 11, 17, 23, 29, 35]);
    const sub = await runCli(['query', path, '--where', 'msg~=event 1', '--seq', '10..15']);
    expect(seqs(sub.out)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(seqs((await runCli(['query', path, '--grep', 'winston style'])).out)).toEqual([40]);
  });

  it('tail applies filters to the newest N', async () => {
    const path = await sample();
    expect(
      seqs((await runCli(['tail', path, '-n', '2', '--level', 'warn', '--where', 'action=login'])).out),
    ).toEqual([34, 38]);
  });

  it('--csv quotes per RFC 4180 and defuses spreadsheet formulas', async () => {
    const path = await sample();
    const { out } = await runCli(['query', path, '--seq', '7..7', '--csv']);
    const [header, row] = out.trim().split('\n');
    expect(header).toBe('seq,time,level,msg,fields');
    expect(row).toBe(
      `7,2026-01-01T00:07:00.000Z,ERROR,"'=HYPERLINK(""http://evil"")","{""action"":""export"",""actor"":{""id"":""psn:k1:user1""}}"`,
    );
  });

  it('--json prints stored entries; --limit stops early', async () => {
    const path = await sample();
    const { out } = await runCli(['query', path, '--json', '--limit', '2']);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'event 0', level: 20 });
  });

  it('rejects malformed filters with exit 2 and says what is expected', async () => {
    const path = await sample();
    for (const [args, msg] of [
      [['--since', 'next week'], /--since "next week" is not a time; give an ISO time/],
      [['--from', 'soon'], /--from "soon" is not a time/],
      [['--from', '1'], /--from "1": a bare number is not a time/],
      [['--level', 'loud'], /--level "loud" is not a level \(levels: trace debug/],
      [['--where', 'novalue'], /--where must be K=V/],
      [['--seq', '9..3'], /is empty/],
      [['--json', '--csv'], /choose one output mode, got json and csv/],
    ] as const) {
      const r = await runCli(['query', path, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
    }
  });
});
