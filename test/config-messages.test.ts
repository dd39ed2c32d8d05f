// Issue 19, item 9: messages from the transports' configuration and the
// store that a new user meets, each naming what to fix.
import { describe, expect, it } from 'vitest';
import { validateSinkOptions } from '../packages/core/src/index.js';
import { ioError } from '../packages/core/src/store/open.js';
import { SealogTransport, type SealogTransportOptions } from '../packages/winston/src/index.js';

describe('the lock-timeout message', () => {
  it('the lock-timeout message keeps the path it was acting on', () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    expect(ioError('/srv/audit.db', 'append to', busy).message).toMatch(
      /^the database stayed locked by another process while trying to append to \/srv\/audit\.db; raise busyTimeoutMs/,
    );
  });
});

describe('item 9: a typo in a transport option says what was meant', () => {
  const msg = (o: object) => {
    try {
      validateSinkOptions(o);
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };

  it('top-level keys, with the known list', () => {
    expect(msg({ path: 'a.db', durabilty: 'power' })).toMatch(
      /^unknown sealog option "durabilty"; did you mean "durability"\?/,
    );
  });

  it('the names pino/file and winston File use for the file point at "path"', () => {
    for (const k of ['destination', 'filename', 'file', 'dest']) {
      expect(msg({ [k]: './audit.db' })).toMatch(
        new RegExp(
          `^unknown sealog option "${k}"; did you mean "path"\\? \\(sealog calls the ledger file "path"`,
        ),
      );
    }
  });
});

describe("item 9: a typo in one of winston's own transport options names it", () => {
  const msg = (o: object) => {
    try {
      new SealogTransport(o as SealogTransportOptions).close?.();
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };

  it('levl, handleExeptions, silnt point at the winston option', () => {
    for (const [typo, meant] of [
      ['levl', 'level'],
      ['handleExeptions', 'handleExceptions'],
      ['silnt', 'silent'],
      ['fromat', 'format'],
    ]) {
      expect(msg({ path: 'a.db', [typo as string]: 'info' })).toMatch(
        new RegExp(
          `^unknown option "${typo}"; did you mean "${meant}"\\? \\(a winston transport option; known: level,`,
        ),
      );
    }
  });

  it('a sealog key still gets the sealog suggestion', () => {
    expect(msg({ path: 'a.db', batchSze: 5 })).toMatch(
      /^unknown sealog option "batchSze"; did you mean "batchSize"\?/,
    );
  });
});
