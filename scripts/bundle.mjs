#!/usr/bin/env node
// Bundles the compiled CLI (dist/main.js and the modules it loads on demand) into
// dist/bundle/, which bin/crsync.js runs. A CLI is one short process per command: loading one
// file instead of ~80 modules saves about a third of a no-op sync. better-sqlite3 stays
// external (a native addon). dist/bundle/ is two levels below the package root, like
// dist/db/, so packageRoot() finds native/ and package.json from either.
// The hub's workers (dist/server/count-worker.js, snapshot-worker.js, pg-snapshot-worker.js) are separate bundles next to the
// CLI's chunks: the hub starts them by a path relative to its own module, and no other command
// loads them (their own builds, so the CLI's chunks stay as they are).
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bundle');
rmSync(outDir, { recursive: true, force: true });
await build({
  input: join(root, 'dist', 'main.js'),
  platform: 'node',
  external: ['better-sqlite3'],
  logLevel: 'warn',
  output: { dir: outDir, format: 'esm', entryFileNames: 'crsync.js', chunkFileNames: '[name]-[hash].js', sourcemap: true },
});
for (const worker of ['count-worker', 'snapshot-worker', 'pg-snapshot-worker']) {
  await build({
    input: join(root, 'dist', 'server', `${worker}.js`),
    platform: 'node',
    external: ['better-sqlite3'],
    logLevel: 'warn',
    output: { file: join(outDir, `${worker}.js`), format: 'esm', sourcemap: true },
  });
}
