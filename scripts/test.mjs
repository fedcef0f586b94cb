#!/usr/bin/env node
// `npm test`: builds, lints (the layers), runs the vitest suites (unit and e2e) and cr-sqlite's upstream suite
// against the patched sources, then prints one closing line with the totals:
//   tests: N passed, M failed
// Arguments are passed to vitest (e.g. `npm test -- test/unit`), which also skips the
// upstream suite.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const args = process.argv.slice(2);
const run = (cmd, argv, opts = {}) => spawnSync(cmd, argv, { stdio: 'inherit', ...opts });

if (run('npm', ['run', '--silent', 'build']).status !== 0) {
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

// The layers are lint rules (docs/architecture.md): a broken one fails the run like a test.
let lintFailed = 0;
if (args.length === 0 && run('npm', ['run', '--silent', 'lint']).status !== 0) {
  console.log('lint failed (npm run lint)');
  lintFailed = 1;
}

const report = join(tmpdir(), `crsync-vitest-${process.pid}.json`);
const vitest = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args]);
let passed = 0;
let failed = 0;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numFailedTestSuites > 0 && r.numFailedTests === 0 ? r.numFailedTestSuites : 0);
} catch {
  failed += 1;
} finally {
  rmSync(report, { force: true });
}
if (vitest.status !== 0 && failed === 0) failed = 1;

if (args.length === 0) {
  const up = spawnSync('node', ['scripts/test-crsqlite.mjs'], { stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(up.stdout);
  const m = /(\d+) passed, (\d+) failed/.exec(up.stdout);
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (up.status !== 0 && (!m || Number(m[2]) === 0)) failed += 1;
}

failed += lintFailed;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
