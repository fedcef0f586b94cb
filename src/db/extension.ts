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

/** Set once by the entry point (CLI: $CRSYNC_CRSQLITE_PATH; library: an option). */
let configured: string | undefined;

/** Uses another cr-sqlite build for every connection opened from now on (undefined: the built one). */
export function useExtensionPath(path: string | undefined): void {
  configured = path ? resolve(path) : undefined;
}

/**
 * Path of the cr-sqlite loadable extension: the configured one, else native/crsqlite.so
 * built by `npm install`. SQLite appends the platform suffix itself, so no suffix is needed.
 */
export function extensionPath(): string {
  if (configured) return configured;
  const base = join(packageRoot(), 'native', 'crsqlite');
  for (const suffix of ['.so', '.dylib', '.dll']) {
    if (existsSync(base + suffix)) return base + suffix;
  }
  return base + '.so';
}
