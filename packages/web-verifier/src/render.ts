import type { BundleReport } from '../../core/src/bundle/verify.js';
import { pageProblems } from './problems.js';
import { drawRecords } from './records.js';

// Everything shown comes from the bundle, which the party under audit may have
// written: it is only ever put in the page with textContent, never as HTML.

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

function row(table: HTMLElement, label: string, value: string, id?: string): void {
  const tr = el('tr');
  tr.append(el('th', label), el('td', value, id ? { id } : {}));
  table.append(tr);
}

function verdictText(r: BundleReport, problems: number): string {
  if (r.status === 'unreadable')
    return 'UNREADABLE — this is not a sealog evidence bundle this page can check';
  if (r.status === 'failed') return `FAILED — ${problems} problem(s); do not rely on this bundle`;
  // Same rule as `sealog verify-bundle`: keys taken from the bundle prove nothing about who signed.
  if (r.status === 'self-consistent')
    return 'NOT VERIFIED — self-consistent only: anyone could have made this bundle. Paste the key you got from the log owner to verify who signed';
  return 'VERIFIED — every record is in the signed checkpoint';
}

/** Draws a report into `root`, replacing what was there. */
export function renderReport(root: HTMLElement, r: BundleReport, fileName: string): void {
  root.replaceChildren();
  const status = r.status === 'self-consistent' ? 'self' : r.status;
  const problems = pageProblems(r.problems);
  root.append(
    el('div', verdictText(r, problems.length), {
      id: 'verdict',
      class: `verdict ${status}`,
      'data-status': status,
    }),
  );
  root.append(el('p', `File: ${fileName}`, { class: 'muted' }));

  if (problems.length > 0) {
    const ul = el('ul', undefined, { id: 'problems', class: 'problems' });
    for (const p of problems.slice(0, 200)) ul.append(el('li', p));
    if (problems.length > 200) ul.append(el('li', `… ${problems.length - 200} more`));
    root.append(el('h2', 'Problems'), ul);
  }

  const cp = r.checkpoint;
  if (cp) {
    const t = el('table', undefined, { id: 'checkpoint', class: 'kv' });
    row(t, 'Origin (log)', cp.origin, 'cp-origin');
    row(t, 'Tree size', String(cp.size), 'cp-size');
    row(t, 'Root hash', cp.root, 'cp-root');
    for (const s of cp.signers) row(t, 'Signed by', `${s.name}  (key ID ${s.keyId})`, 'cp-signer');
    row(
      t,
      'Signed time',
      cp.time !== undefined
        ? `${iso(cp.time)}  (cosigned by ${cp.timeSigner?.name} ${cp.timeSigner?.keyId})`
        : 'not verified',
      'cp-time',
    );
    root.append(el('h2', 'Signed checkpoint'), t);
  }

  const w = r.witness;
  if (w) {
    const t = el('table', undefined, { id: 'witnesses-result', class: 'kv' });
    const n = w.witnesses.filter((x) => x.cosigned).length;
    row(
      t,
      'Quorum',
      `${n} of ${w.witnesses.length} given witness(es) cosigned the checkpoint; ${w.quorum} needed: ${w.met ? 'MET' : 'NOT MET'}`,
      'witness-quorum',
    );
    for (const x of w.witnesses)
      row(
        t,
        'Witness',
        `${x.name}: ${x.time !== undefined ? `cosigned at ${iso(x.time)}` : 'no valid cosignature'}`,
      );
    root.append(el('h2', 'Witnesses'), t);
  }

  if (r.timestamps) {
    const t = el('table', undefined, { id: 'timestamps-result', class: 'kv' });
    if (r.timestamps.length === 0) row(t, 'Tokens', 'none in the bundle');
    for (const x of r.timestamps) {
      const which = x.note === 'none' ? 'no note of the bundle' : `${x.note} note`;
      row(t, `${which} (size ${x.size ?? '?'})`, `${x.ok ? 'OK' : 'NOT OK'} — ${x.message}`);
    }
    root.append(el('h2', 'RFC 3161 timestamps'), t);
  }

  const m = r.manifest;
  if (m) {
    const t = el('table', undefined, { id: 'manifest', class: 'kv' });
    const str = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
    row(t, 'Ledger file', str(m.ledger));
    row(t, 'Exported at', str(m.exportedAt));
    row(t, 'Selection', Array.isArray(m.selection) ? m.selection.map(str).join(' ') || '(all)' : '');
    const ranges = r.seqs.slice(0, 30).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
    row(t, 'Records (seq)', `${ranges.join(', ')}${r.seqs.length > 30 ? ', …' : ''}`);
    row(
      t,
      'Rows withheld',
      r.withheld > 0 ? `${r.withheld} (between the first and last record)` : 'none',
      'withheld',
    );
    for (const a of r.anchors) {
      const by = a.witnesses?.length ? `; cosigned by ${a.witnesses.map((x) => x.name).join(', ')}` : '';
      row(t, 'Anchor checkpoint', `size ${a.size ?? '?'}: ${a.ok ? 'OK' : 'FAILED'} — ${a.message}${by}`);
    }
    root.append(el('h2', 'Export (as the exporter describes it; checked against the contents)'), t);
  }

  if (r.notes.length > 0) {
    const ul = el('ul', undefined, { id: 'notes', class: 'notes' });
    for (const n of r.notes) ul.append(el('li', n));
    root.append(el('h2', 'What this does not prove'), ul);
  }

  if (r.entries.length > 0) {
    const passed = r.entries.filter((e) => e.ok).length;
    root.append(el('h2', `Records: ${passed} of ${r.entries.length} verified`, { id: 'records-summary' }));
    drawRecords(root, r.entries);
  }
}
