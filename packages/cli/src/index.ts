export { type Command, EXIT_FAIL, EXIT_OK, EXIT_USAGE, type Io, UsageError } from './command.js';
export { main } from './main.js';
