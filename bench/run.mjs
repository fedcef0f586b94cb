#!/usr/bin/env node
// crsync benchmark: measures crsync against the limits of cr-sqlite itself. Prints figures and a
// table of medians and ratios; asserts nothing. Each ratio's two sides run alternately in the
// same session, so machine noise falls on both.
//
//   npm run bench -- [--n 1000000] [--runs 3] [--only pull,push,...] [--json [file]]
//
// --n       changes in the synthetic dataset (rows x 4 columns; default 1,000,000)
// --runs    runs per case (medians are reported; default 3)
// --only    a comma-separated subset of: push,pull,wire,clone,small,memory,import,migrate
// --json    print the figures as one JSON document on stdout instead of the table (or to a file)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmtInt } from './lib.mjs';
import { memoryCase, pullCase, pushCase } from './cases-sync.mjs';
import { cloneCase, importCase, migrateCase, smallSyncCase } from './cases-local.mjs';

function args() {
  try {
    return parseArgs({
      options: { n: { type: 'string' }, runs: { type: 'string' }, only: { type: 'string' }, json: { type: 'string' } },
      allowPositionals: false,
      strict: true,
      args: process.argv.slice(2).flatMap((a, i, all) => (a === '--json' && (i === all.length - 1 || all[i + 1].startsWith('--')) ? ['--json', '-'] : [a])),
    });
  } catch (err) {
    console.error(`bench: ${err.message} (see the top of bench/run.mjs for the options)`);
    process.exit(2);
  }
}
const { values } = args();
const n = Math.round(Number(values.n ?? 1_000_000) / 4) * 4;
const runs = Number(values.runs ?? 3);
if (!(n >= 4000) || !(runs >= 1)) {
  console.error('bench: --n must be at least 4000 and --runs at least 1');
  process.exit(2);
}
const all = ['push', 'pull', 'wire', 'clone', 'small', 'memory', 'import', 'migrate'];
const only = new Set(values.only ? values.only.split(',') : all);
const unknown = [...only].filter((c) => !all.includes(c));
if (unknown.length > 0) {
  console.error(`bench: unknown case ${unknown.join(', ')} (cases: ${all.join(', ')})`);
  process.exit(2);
}
const jsonOut = values.json;
const log = (s) => process.stderr.write(`${s}\n`);
const dir = mkdtempSync(join(tmpdir(), 'crsync-bench-'));
const ctx = { dir, n, runs, log, state: {} };
const figures = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, n, runs, cases: {} };
const f = figures.cases;

async function step(name, fn) {
  log(`${name}...`);
  const t = performance.now();
  const r = await fn();
  log(`${name} done in ${Math.round((performance.now() - t) / 1000)} s`);
  return r;
}

try {
  // push seeds replica A and the hub dataset that pull, wire, small and memory use.
  const needsA = ['push', 'pull', 'wire', 'small', 'memory'].some((c) => only.has(c));
  if (needsA) f.push = await step('push', () => pushCase(ctx));
  if (['pull', 'wire', 'memory'].some((c) => only.has(c))) {
    const { pull, wire } = await step('pull', () => pullCase(ctx));
    f.pull = pull;
    f.wire = wire;
  }
  if (only.has('small')) f.small = await step('no-op and small sync', () => smallSyncCase(ctx));
  if (only.has('memory')) f.memory = await step('memory', () => memoryCase(ctx, f.pull));
  if (only.has('clone')) f.clone = await step('clone', () => cloneCase(ctx));
  if (only.has('import')) f.import = await step('import', () => importCase(ctx));
  if (only.has('migrate')) f.migrate = await step('migrate', () => migrateCase());
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The table: one line per figure, with its yardstick, ratio and target where the issue sets one. */
function table() {
  const lines = [];
  const row = (what, crsync, yardstick, ratio, target, met) => lines.push([what, crsync, yardstick, ratio, target, met === undefined ? '' : met ? 'yes' : 'NO']);
  const r2 = (x) => (x === undefined ? '-' : x.toFixed(2));
  if (f.pull) row(`pull ${fmtInt(f.pull.changes)} changes (changes/s)`, fmtInt(f.pull.crsync.changesPerSec), fmtInt(f.pull.baseline.changesPerSec), r2(f.pull.ratio), '>= 1.0', f.pull.ratio >= 1);
  if (f.push) row(`push ${fmtInt(f.push.changes)} changes (changes/s)`, fmtInt(f.push.crsync.changesPerSec), fmtInt(f.push.baseline.changesPerSec), r2(f.push.ratio), '>= 1.0', f.push.ratio >= 1);
  if (f.clone) {
    row(`clone ${fmtInt(f.clone.rows)} cities (ms)`, fmtInt(f.clone.cloneMs), `${fmtInt(f.clone.plainInsertMs)} plain insert`, r2(f.clone.vsPlainInsert), '', undefined);
    row(`clone vs file copy (ms)`, fmtInt(f.clone.cloneMs), `${f.clone.fileCopyMs.toFixed(1)} file copy`, fmtInt(f.clone.vsFileCopy), '', undefined);
  }
  if (f.wire) row(`wire bytes per change`, f.wire.bytesPerChange.toFixed(2), `${f.wire.jsonBytesPerChange.toFixed(1)} JSON`, r2(f.wire.ratio), '<= 0.12', f.wire.ratio <= 0.12);
  if (f.small) {
    row('no-op sync (ms, whole process)', fmtInt(f.small.noopSyncMs), `${fmtInt(f.small.nodeStartMs)} node start`, r2(f.small.noopRatio), '<= 3', f.small.noopRatio <= 3);
    row('1,000-row sync (ms, whole process)', fmtInt(f.small.smallSyncMs), `${fmtInt(f.small.nodeStartMs)} node start`, r2(f.small.smallRatio), '<= 5', f.small.smallRatio <= 5);
  }
  if (f.memory) {
    row(`client peak RSS, N -> 4N (MiB)`, fmtInt(f.memory.n4.clientPeakRssMiB), fmtInt(f.memory.n.clientPeakRssMiB), r2(f.memory.clientGrowth), '<= 1.2', f.memory.clientGrowth <= 1.2);
    row(`hub peak RSS, N -> 4N (MiB)`, fmtInt(f.memory.n4.hubPeakRssMiB), fmtInt(f.memory.n.hubPeakRssMiB), r2(f.memory.hubGrowth), '<= 1.2', f.memory.hubGrowth <= 1.2);
    row(`hub peak RSS at 4N vs its dataset (MiB)`, fmtInt(f.memory.n4.hubPeakRssMiB), `${fmtInt(f.memory.n4.datasetMiB)} file`, r2(f.memory.n4.hubPeakRssMiB / f.memory.n4.datasetMiB), '', undefined);
  }
  if (f.import) row(`import ${fmtInt(f.import.rows)} rows (rows/s)`, fmtInt(f.import.importRowsPerSec), fmtInt(f.import.insertRowsPerSec), r2(f.import.ratio), '>= 0.8', f.import.ratio >= 0.8);
  if (f.migrate) row(`add column, ${fmtInt(f.migrate.rows)} rows (ms)`, fmtInt(f.migrate.replicatedMs), `${f.migrate.plainMs} plain`, fmtInt(f.migrate.replicatedMs / f.migrate.plainMs), '', undefined);
  const head = ['case', 'crsync', 'yardstick', 'ratio', 'target', 'met'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

const json = JSON.stringify(figures, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v), 2);
if (jsonOut === '-') process.stdout.write(json + '\n');
else {
  if (jsonOut) writeFileSync(jsonOut, json + '\n');
  console.log(`\ncrsync benchmark: N = ${fmtInt(n)} changes, ${runs} runs per case, medians; Node ${process.version}, ${figures.cpus} cores\n`);
  console.log(table());
}
