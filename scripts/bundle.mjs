#!/usr/bin/env node
// Bundles the compiled CLI (dist/main.js and the modules it loads on demand) into
// dist/bundle/, which bin/crsync.js runs. A CLI is one short process per command: loading one
// file instead of ~80 modules saves about a third of a no-op sync. better-sqlite3 stays
// external (a native addon). dist/bundle/ is two levels below the package root, like
// dist/db/, so packageRoot() finds native/ and package.json from either.
// The bundle is CommonJS (dist/bundle/package.json says so): Node's ESM loader cost ~9% of a
// push's instructions, and CommonJS chunks can be compiled through V8's code cache, which
// dist/bundle/crsync.js (scripts/bundle-boot.cjs) does before it runs main.js.
// The hub's workers (dist/server/count-worker.js, snapshot-worker.js, pg-snapshot-worker.js) are
// separate bundles next to the CLI's chunks: the hub starts them by a path relative to its own
// module, and no other command loads them (their own builds, so the CLI's chunks stay as they are).
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bundle');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
await build({
  input: join(root, 'dist', 'main.js'),
  platform: 'node',
  external: ['better-sqlite3'],
  logLevel: 'warn',
  output: { dir: outDir, format: 'cjs', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js', sourcemap: true },
});
copyFileSync(join(root, 'scripts', 'bundle-boot.cjs'), join(outDir, 'crsync.js'));
for (const worker of ['count-worker', 'snapshot-worker', 'pg-snapshot-worker']) {
  await build({
    input: join(root, 'dist', 'server', `${worker}.js`),
    platform: 'node',
    external: ['better-sqlite3'],
    logLevel: 'warn',
    output: { file: join(outDir, `${worker}.js`), format: 'cjs', sourcemap: true },
  });
}
