import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** cr-sqlite release the project builds and patches (scripts/build-crsqlite.mjs). */
export const CRSQLITE_VERSION = '0.16.3';

/** Root of the installed crsync package (holds native/ after the install build). */
export function packageRoot(): string {
  // dist/db/extension.js or src/db/extension.ts: two levels below the root.
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * Path of the cr-sqlite loadable extension: $CRSYNC_CRSQLITE_PATH, else native/crsqlite.so
 * built by `npm install`. SQLite appends the platform suffix itself, so no suffix is needed.
 */
export function extensionPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.CRSYNC_CRSQLITE_PATH;
  if (override) return resolve(override);
  const base = join(packageRoot(), 'native', 'crsqlite');
  for (const suffix of ['.so', '.dylib', '.dll']) {
    if (existsSync(base + suffix)) return base + suffix;
  }
  return base + '.so';
}
