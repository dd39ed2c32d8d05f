import type { Bundle } from './types.js';

// The README travels with the bundle to people who may never have heard of
// sealog: it says what they hold, what it proves and how to check it, in that order.

function ranges(r: readonly [number, number][]): string {
  const shown = r.slice(0, 20).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`));
  return shown.join(', ') + (r.length > 20 ? `, ... (${r.length} ranges in all, see manifest.json)` : '');
}

/** Renders README.txt for a bundle. */
export function renderReadme(bundle: Bundle, anchorCount: number): string {
  const m = bundle.manifest;
  const withheld =
    m.withheld > 0
      ? `YES: ${m.withheld} row(s) between seq ${m.firstSeq} and ${m.lastSeq} were left out on purpose
(selection: ${m.selection.join(' ') || 'none'}). The rows included still verify on their own;
the bundle does not show what the withheld rows contain.`
      : m.selection.length > 0
        ? `No rows between seq ${m.firstSeq} and ${m.lastSeq} were left out (selection: ${m.selection.join(' ')}).`
        : `No: seq ${m.firstSeq} to ${m.lastSeq} is complete.`;
  const time = m.checkpoint.signedTime ?? 'not carried (no time cosigner key was exported)';
  return `SEALOG EVIDENCE BUNDLE
======================

What this is
------------
${m.entryCount} log record(s) exported from the sealog ledger "${m.ledger}" of the log
"${m.origin}" on ${m.exportedAt}, with cryptographic proof that each one is
part of that log exactly as written.

  records (seq numbers) : ${ranges(m.seqs)}
  rows withheld         : ${withheld}
  signed checkpoint     : size ${m.checkpoint.size}, root ${m.checkpoint.root}
  checkpoint signed at  : ${time}
  anchor checkpoints    : ${anchorCount}
  ledger size at export : ${m.ledgerSize} (records from seq ${m.checkpoint.size} on are not covered)

Files
-----
  bundle.json     everything needed to verify (this is the file to check)
  manifest.json   the summary above, as JSON (unsigned)
  checkpoint.txt  the signed checkpoint note (C2SP signed-note / tlog-checkpoint)
  keys.txt        the verifier keys the exporter used (do not trust them; see below)
  entries.jsonl   the records, one per line, exactly as stored and hashed
  README.txt      this file

The other files are copies of parts of bundle.json for people to read.
\`sealog verify-bundle <this directory>\` checks that each copy says exactly
what bundle.json says; the browser page reads bundle.json only.

How to verify
-------------
IMPORTANT: get the log's verifier key from its owner through a channel you
trust (not from this bundle). A key shipped inside the bundle proves only that
the bundle is consistent with itself.

1. In a browser, no install, no network: open the verifier page and paste the
   trusted key(s). If you were sent a .html file with this bundle (written by
   \`sealog export --html\`), that page holds the bundle and checks it when
   opened. Otherwise use verifier.html, a single offline file that ships in
   the @sealog/cli npm package (node_modules/@sealog/cli/dist/verifier.html
   after \`npm install @sealog/cli\`), and drop bundle.json on it. The page
   shows pass/fail per record, the checkpoint, who signed it and when, and an
   overall verdict.

2. On the command line (Node.js 20+, with the @sealog/cli package installed):
     sealog verify-bundle <this directory> --key '<trusted verifier key>' --key '<its /time key>'
   (or --key-file <file of those keys>; give bundle.json if you only have that file).
   Exit code 0 = verified, 1 = verification failed or no trusted key given,
   2 = unreadable.

What a pass proves and what it does not
---------------------------------------
- Each record shown is byte-for-byte the one the log's key holder committed
  to in the signed checkpoint (RFC 9162 inclusion proof, Ed25519 signature).
- The signed time says the checkpoint existed at that time (cosignature/v1).
- It does NOT show withheld rows, records outside the exported range, or
  records written after the checkpoint.
- It proves who signed only if the key you verify with came from outside.
`;
}
