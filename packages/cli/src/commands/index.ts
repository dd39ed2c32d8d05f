import type { Command } from '../command.js';
import { backup } from './backup.js';
import { checkpoint } from './checkpoint.js';
import { dp } from './dp.js';
import { erase } from './erase.js';
import { exportCommand } from './export.js';
import { hold } from './hold.js';
import { init } from './init.js';
import { key } from './key.js';
import { keygen } from './keygen.js';
import { migrate } from './migrate.js';
import { prove } from './prove.js';
import { prune } from './prune.js';
import { pseudonym } from './pseudonym.js';
import { query } from './query.js';
import { report } from './report.js';
import { tail } from './tail.js';
import { tiles } from './tiles.js';
import { verify } from './verify.js';
import { verifyBundleCommand } from './verify-bundle.js';
import { verifyProof } from './verify-proof.js';
import { witness } from './witness.js';

/** Every `sealog` subcommand, in the order `sealog --help` lists them. One line per command. */
export const commands: Command[] = [
  tail,
  query,
  keygen,
  key,
  checkpoint,
  verify,
  prove,
  verifyProof,
  pseudonym,
  exportCommand,
  erase,
  report,
  dp,
  verifyBundleCommand,
  tiles,
  init,
  migrate,
  backup,
  prune,
  hold,
  witness,
];
