// The core verifier's problems are written for `sealog verify-bundle`; here
// the reader has a page, not a shell. Two changes, nothing dropped:
// - wording that names CLI flags or "given" keys speaks of the pasted keys;
// - "record N: not checked: the checkpoint did not verify" for every record is
//   one cause, stated once with the seq ranges it covers (issue 19, item 11).

const UNCHECKED = /^record (\d+): not checked: the checkpoint did not verify$/;

/** "0–7, 9" from sorted seqs. */
function ranges(seqs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? `${seqs[i]}` : `${seqs[i]}–${seqs[j]}`);
    i = j + 1;
  }
  return out.length > 20 ? `${out.slice(0, 20).join(', ')}, …` : out.join(', ');
}

function forPage(problem: string): string {
  return problem
    .replace('keys not given as trusted keys', 'keys other than the ones pasted')
    .replace('keys not given with --key', 'keys other than the ones pasted')
    .replaceAll('--key', 'the trusted keys box');
}

/** The report's problems as the page lists them. */
export function pageProblems(problems: readonly string[]): string[] {
  const out: string[] = [];
  const unchecked: number[] = [];
  let at = -1;
  for (const p of problems) {
    const m = UNCHECKED.exec(p);
    if (!m) {
      out.push(forPage(p));
      continue;
    }
    // One line where the first such record was, for all of them.
    if (at < 0) at = out.push('') - 1;
    unchecked.push(Number(m[1]));
  }
  if (unchecked.length > 0) {
    const which =
      unchecked.length === 1
        ? `record ${unchecked[0]}`
        : `records ${ranges(unchecked)} (${unchecked.length})`;
    const line = `${which}: not checked, because the checkpoint did not verify`;
    out[at] = line;
  }
  return out;
}
