import type { Command } from '../command.js';
import { query } from './query.js';
import { tail } from './tail.js';

/** Every `sealog` subcommand, in the order `sealog --help` lists them. One line per command. */
export const commands: Command[] = [tail, query];
