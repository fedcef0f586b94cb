#!/usr/bin/env node
// Runs cr-sqlite's upstream test suite (`make test`: the C tests plus the Rust
// integration suites linked into the same binary) against the patched sources in
// .crsqlite/src, i.e. exactly what native/crsqlite.so is built from.
//
//   node scripts/test-crsqlite.mjs [--force] [--verbose]
//
// Ends with `crsqlite upstream: N passed, M failed`; exits non-zero on any failure.
// A passing run is remembered in native/crsqlite.tested.stamp (same inputs hash as the
// build stamp plus "tested"); --force runs the suite anyway.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import {
  BuildError,
  checkPrerequisites,
  ensureAptPackages,
  fail,
  inputsHash,
  log,
  prepareSources,
  readFileOr,
  run,
  setVerbose,
  SRC_DIR,
  TEST_APT_PACKAGES,
  TEST_STAMP,
  which,
  withLock,
  writeAtomic,
} from './crsqlite-lib.mjs';

const USAGE = 'usage: node scripts/test-crsqlite.mjs [--force] [--verbose]';

function summary(passed, failed) {
  return `crsqlite upstream: ${passed} passed, ${failed} failed`;
}

/**
 * Count what the suite reports. The C tests print their name and then "Success" each;
 * the Rust part prints "Running <suite>" before each suite and aborts on a failure, so a
 * suite passed when the binary went on to the next one or exited cleanly.
 */
function countResults(output, exitedOk) {
  // eslint-disable-next-line no-control-regex
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  // Only look at what the test binary printed (make echoes "./dist/test" before it).
  const start = lines.findIndex((l) => /^\.?\/?dist\/test\s*$/.test(l.trim()));
  const ran = start >= 0 ? lines.slice(start + 1) : [];
  const cPassed = ran.filter((l) => /^\s*Success\s*$/.test(l)).length;
  const rustSuites = ran.filter((l) => /^Running \S+$/.test(l.trim())).length;
  const rustPassed = exitedOk ? rustSuites : Math.max(0, rustSuites - 1);
  return { started: start >= 0, cPassed, rustSuites, rustPassed };
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const unknown = args.filter((a) => !['--force', '--verbose'].includes(a));
  if (unknown.length) {
    process.stderr.write(`unknown argument ${unknown[0]}\n${USAGE}\n`);
    process.exit(2);
  }
  const force = args.includes('--force');
  if (args.includes('--verbose')) setVerbose(true);

  const hash = inputsHash();
  const self = createHash('sha256')
    .update(fs.readFileSync(fileURLToPath(import.meta.url)))
    .digest('hex')
    .slice(0, 16);
  const stampKey = `${hash} tested ${self}`;
  const cached = () => {
    const [key, counts] = readFileOr(TEST_STAMP, '').split('\n');
    return key === stampKey && /^\d+$/.test(counts || '') ? Number(counts) : null;
  };

  if (!force && cached() !== null) {
    log('upstream suite already passed for these sources and patches (--force to rerun)');
    process.stdout.write(`${summary(cached(), 0)}\n`);
    return;
  }

  const t0 = Date.now();
  const code = await withLock(async () => {
    const toolchain = await checkPrerequisites({ hash });
    await ensureAptPackages(TEST_APT_PACKAGES);
    await prepareSources(hash);

    log('running the upstream suite: make test');
    fs.rmSync(TEST_STAMP, { force: true });
    // The C tests print with stdio (block-buffered into a pipe, lost on abort) while the
    // Rust suites write(2) directly: line-buffer stdio so the output stays in order.
    const stdbuf = which('stdbuf');
    const [cmd, cmdArgs] = stdbuf
      ? [stdbuf, ['-oL', '-eL', 'make', 'test', ...toolchain.makeArgs]]
      : ['make', ['test', ...toolchain.makeArgs]];
    let output;
    let ok = true;
    try {
      output = await run('make test', cmd, cmdArgs, { cwd: SRC_DIR, env: toolchain.env, stream: true });
    } catch (e) {
      if (!(e instanceof BuildError) || e.output === undefined) throw e;
      output = e.output;
      ok = false;
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    const r = countResults(output, ok);
    const passed = r.cPassed + r.rustPassed;
    process.stdout.write('\n');
    if (!r.started) {
      log(`make test failed before the test binary ran (${secs} s): the build of the suite failed, see above`);
      process.stdout.write(`${summary(0, 1)}\n`);
      return 1;
    }
    if (!ok) {
      log(`make test failed after ${secs} s (C tests passed: ${r.cPassed}, Rust suites passed: ${r.rustPassed})`);
      process.stdout.write(`${summary(passed, 1)}\n`);
      return 1;
    }
    if (r.rustSuites === 0 || r.cPassed === 0) {
      log(`make test succeeded but reported ${r.cPassed} C tests and ${r.rustSuites} Rust suites: output not understood`);
      process.stdout.write(`${summary(passed, 1)}\n`);
      return 1;
    }
    log(`C tests: ${r.cPassed} passed; Rust integration suites: ${r.rustPassed} passed (${secs} s)`);
    writeAtomic(TEST_STAMP, `${stampKey}\n${passed}\n`);
    process.stdout.write(`${summary(passed, 0)}\n`);
    return 0;
  });
  process.exitCode = code;
}

main().catch(fail);
