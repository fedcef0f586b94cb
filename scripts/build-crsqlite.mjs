#!/usr/bin/env node
// Builds the cr-sqlite loadable extension into native/crsqlite.so (run by `npm install`).
//
//   node scripts/build-crsqlite.mjs [--force] [--verbose]
//
// Steps: check prerequisites -> install missing Debian crate packages (root only) ->
// npm pack @vlcn.io/crsqlite@0.16.3 into .crsqlite/ and verify its sha512 -> extract ->
// apply patches/crsqlite-0.16.3/*.patch -> offline cargo config -> make loadable ->
// native/crsqlite.so + native/crsqlite.stamp.
//
// Env: CRSYNC_SKIP_NATIVE_BUILD=1 skips everything; CRSQLITE_VERBOSE=1 = --verbose;
// CRSQLITE_RUSTUP_TOOLCHAIN overrides the rustup toolchain (default: stable).
// See scripts/crsqlite-lib.mjs and patches/crsqlite-0.16.3/*.patch for the why.

import process from 'node:process';
import {
  BUILD_APT_PACKAGES,
  buildLoadable,
  checkPrerequisites,
  ensureAptPackages,
  fail,
  inputsHash,
  isUpToDate,
  log,
  OUT_SO,
  prepareSources,
  rel,
  setVerbose,
  STAMP,
  withLock,
  writeAtomic,
} from './crsqlite-lib.mjs';

const USAGE = 'usage: node scripts/build-crsqlite.mjs [--force] [--verbose]';

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  if (args.includes('--verbose')) setVerbose(true);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const unknown = args.filter((a) => !['--force', '--verbose'].includes(a));
  if (unknown.length) {
    process.stderr.write(`cr-sqlite: unknown argument ${unknown[0]}\n${USAGE}\n`);
    process.exit(2);
  }

  if (process.env.CRSYNC_SKIP_NATIVE_BUILD === '1') {
    log('CRSYNC_SKIP_NATIVE_BUILD=1: skipping the native build');
    return;
  }

  const hash = inputsHash();
  if (!force && isUpToDate(hash)) {
    log(`up to date (${rel(OUT_SO)})`);
    return;
  }

  const t0 = Date.now();
  await withLock(async () => {
    if (!force && isUpToDate(hash)) {
      log(`up to date (${rel(OUT_SO)})`); // built meanwhile by another process
      return;
    }
    const toolchain = await checkPrerequisites({ hash });
    await ensureAptPackages(BUILD_APT_PACKAGES);
    await prepareSources(hash, { fresh: force });
    await buildLoadable(toolchain);
    writeAtomic(STAMP, `${hash}\n`);
    log(`built ${rel(OUT_SO)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
}

main().catch(fail);
