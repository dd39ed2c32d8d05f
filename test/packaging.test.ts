// The published shape: publint and are-the-types-wrong on the packed tarballs,
// then the tarballs installed into a scratch app outside the workspace and used
// from an ESM, a CommonJS and a strict TypeScript consumer. Needs `npx turbo run build` first.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, readVerified, tempDir } from './transport-helpers.js';

const PACKAGES = ['core', 'pino', 'winston', 'cli'] as const;
const BIN = join(ROOT, 'node_modules/.bin');
const SLOW = 180_000;

/** How long `npm install` of the scratch app may take: it compiles better-sqlite3 on a loaded 2-core machine. */
const INSTALL_MS = 1_800_000;
/** A test that may be the first to call scratchApp(), which installs. */
const SCRATCH = INSTALL_MS + SLOW;

function run(cmd: string, args: string[], cwd: string, timeout = 150_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const packs = tempDir();
const tarball = (p: string) => join(packs, `sealog-${p}-0.1.0.tgz`);

beforeAll(() => {
  for (const p of PACKAGES) {
    // pnpm pack rewrites workspace:* to the real version; npm pack would ship "workspace:*".
    const r = run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', packs], join(ROOT, 'packages', p));
    expect(r.status, r.out).toBe(0);
  }
  expect(readdirSync(packs).sort()).toEqual(PACKAGES.map((p) => `sealog-${p}-0.1.0.tgz`).sort());
}, SLOW);

describe('package hygiene', () => {
  it.each(PACKAGES)(
    'publint --strict passes for @sealog/%s',
    (p) => {
      // The tarball pnpm packed (publint's own packing would need pnpm on PATH).
      const r = run(join(BIN, 'publint'), ['run', tarball(p), '--strict'], ROOT);
      expect(r.status, r.out).toBe(0);
      expect(r.out).toContain('All good');
    },
    SLOW,
  );

  // What npm shows and what a scoped package's first publish needs; no source map points at src/,
  // which is not shipped.
  it.each(PACKAGES)(
    'the @sealog/%s tarball carries LICENSE, README.md, repository metadata and no source maps',
    (p) => {
      const r = run('tar', ['-tzf', tarball(p)], ROOT);
      expect(r.status, r.out).toBe(0);
      const files = r.out.split('\n').filter(Boolean);
      expect(files).toContain('package/LICENSE');
      expect(files).toContain('package/README.md');
      expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
      expect(files.filter((f) => f.startsWith('package/src/'))).toEqual([]);
      const license = run('tar', ['-xzOf', tarball(p), 'package/LICENSE'], ROOT).out;
      expect(license).toContain('Apache License');
      expect(license).toContain('END OF TERMS AND CONDITIONS');
      const pkg = JSON.parse(run('tar', ['-xzOf', tarball(p), 'package/package.json'], ROOT).out);
      expect(pkg).toMatchObject({
        license: 'Apache-2.0',
        repository: {
          type: 'git',
          url: expect.stringMatching(/^git\+https:\/\/github\.com\//),
          directory: `packages/${p}`,
        },
        homepage: expect.stringMatching(/^https:\/\//),
        bugs: { url: expect.stringMatching(/\/issues$/) },
        keywords: expect.arrayContaining(['audit-log']),
        publishConfig: { access: 'public' },
      });
    },
    SLOW,
  );

  // Installing the workspace links every package's bin before anything is built: a bin under dist/
  // made pnpm print "Failed to create bin" for each dependent on a fresh clone. And npm reads the
  // project's .npmrc too: a pnpm-only key there made npm warn "Unknown project config" on every run.
  it('the sealog bin is a committed file and .npmrc holds no pnpm-only setting', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8'));
    const bin = pkg.bin.sealog as string;
    expect(bin.startsWith('./dist/')).toBe(false);
    expect(run('git', ['ls-files', '--error-unmatch', join('packages/cli', bin)], ROOT).status).toBe(0);
    expect(pkg.files).toContain(bin.replace(/^\.\//, '').split('/')[0]);
    const npmrc = join(ROOT, '.npmrc');
    if (existsSync(npmrc)) expect(readFileSync(npmrc, 'utf8')).not.toMatch(/manage-package-manager-versions/);
    expect(readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8')).toMatch(
      /^managePackageManagerVersions: false$/m,
    );
  });

  // ESM-only on purpose: engines is >=20.19, where require(esm) works (the CJS consumer below proves
  // it), so attw's "CJS resolves to ESM" notice is the one rule ignored.
  it.each(PACKAGES)(
    'attw finds no type problems in the @sealog/%s tarball',
    (p) => {
      const r = run(join(BIN, 'attw'), [tarball(p), '--ignore-rules', 'cjs-resolves-to-esm'], ROOT);
      expect(r.status, r.out).toBe(0);
    },
    SLOW,
  );

  it(
    'the tarballs install into a scratch app and log from ESM and CommonJS consumers',
    () => {
      const app = scratchApp();
      const consumer = (mod: 'esm' | 'cjs') => `${
        mod === 'esm'
          ? "import pino from 'pino';\nimport winston from 'winston';\nimport { SealogTransport } from '@sealog/winston';"
          : "const pino = require('pino');\nconst winston = require('winston');\nconst { SealogTransport } = require('@sealog/winston');"
      }
const dir = process.argv[2];
const transport = pino.transport({ target: '@sealog/pino', options: { path: dir + '/pino.db' } });
pino(transport).info({ via: '${mod}' }, 'from pino');
const logger = winston.createLogger({ transports: [new SealogTransport({ path: dir + '/winston.db' })] });
logger.info('from winston', { via: '${mod}' });
logger.end();
`;
      writeFileSync(join(app, 'esm.mjs'), consumer('esm'));
      writeFileSync(join(app, 'cjs.cjs'), consumer('cjs'));
      for (const [file, via] of [
        ['esm.mjs', 'esm'],
        ['cjs.cjs', 'cjs'],
      ] as const) {
        const out = tempDir();
        const c = run(process.execPath, [file, out], app);
        expect(c.status, c.out).toBe(0);
        expect(readVerified(join(out, 'pino.db'))).toEqual([
          expect.objectContaining({ msg: 'from pino', via }),
        ]);
        expect(readVerified(join(out, 'winston.db'))).toEqual([
          expect.objectContaining({ message: 'from winston', via }),
        ]);
      }
    },
    SCRATCH,
  );

  // pg is an optional peer of @sealog/core: an app without it still opens SQLite ledgers (above), and a
  // postgres:// ledger says which package is missing instead of failing to load @sealog/core.
  it(
    'without pg installed, a postgres:// ledger is refused with E_CONFIG naming pg and its install command',
    () => {
      const app = scratchApp();
      expect(run(process.execPath, ['-e', "require.resolve('pg')"], app).status).not.toBe(0);
      writeFileSync(
        join(app, 'pg.mjs'),
        `import { connectStore } from '@sealog/core';
try {
  await connectStore('postgres://sealog@127.0.0.1:1/none');
  console.log('opened');
} catch (err) {
  console.log(err.code + ': ' + err.message);
}
`,
      );
      const r = run(process.execPath, ['pg.mjs'], app);
      expect(r.status, r.out).toBe(0);
      expect(r.out).toMatch(/^E_CONFIG: .*need the pg package.*npm install pg/);
      const cli = run(
        join(app, 'node_modules/.bin/sealog'),
        ['tail', 'postgres://sealog@127.0.0.1:1/none'],
        app,
      );
      expect(cli.status, cli.out).toBe(2);
      expect(cli.out).toMatch(/npm install pg/);
    },
    SCRATCH,
  );

  // What a strict TypeScript app sees: every .d.ts we ship is checked (skipLibCheck: false), so a
  // type import of a package the user does not get (a devDependency's @types) fails with TS7016.
  it(
    'a strict TypeScript consumer (skipLibCheck: false, module: nodenext) compiles against every package',
    () => {
      const app = scratchApp();
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            strict: true,
            skipLibCheck: false,
            noEmit: true,
            types: ['node'],
          },
          files: ['consumer.ts'],
        }),
      );
      writeFileSync(
        join(app, 'consumer.ts'),
        `import { connectStore, type ConnectedStore, SqliteStore, verifyLedger } from '@sealog/core';
import { main } from '@sealog/cli';
import sealogPino from '@sealog/pino';
import { SealogTransport } from '@sealog/winston';

export async function use(path: string): Promise<ConnectedStore> {
  void [SqliteStore, verifyLedger, main, sealogPino, new SealogTransport({ path })];
  return connectStore(path);
}
`,
      );
      const r = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
      expect(r.status, r.out).toBe(0);
    },
    SCRATCH,
  );
});

// One scratch app outside the workspace with the packed tarballs installed (plus what a user of them
// would add: pino, winston, @types/node), shared by the consumers above.
let scratch: string | undefined;
function scratchApp(): string {
  if (scratch) return scratch;
  const app = tempDir();
  const dep = (p: string) => `file:${tarball(p)}`;
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'scratch',
      private: true,
      version: '1.0.0',
      type: 'module',
      dependencies: {
        '@sealog/cli': dep('cli'),
        '@sealog/core': dep('core'),
        '@sealog/pino': dep('pino'),
        '@sealog/winston': dep('winston'),
        '@types/node': '^20.19.0',
        pino: '^10.4.0',
        winston: '^3.19.0',
      },
      // The packed @sealog/pino depends on @sealog/core@0.1.0, which is only in our tarball.
      overrides: { '@sealog/core': '$@sealog/core' },
    }),
  );
  // Plain npm, as a user outside this workspace installs us (issue 19, item 12): it builds
  // better-sqlite3 from source here (no prebuilt download): 92 s in a clean-clone CI run, 922 s once
  // on a heavily loaded machine, hence 30 minutes.
  const r = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app, INSTALL_MS);
  expect(r.status, r.out).toBe(0);
  scratch = app;
  return app;
}
