#!/usr/bin/env node
// crsync benchmark: measures crsync against the limits of cr-sqlite itself. Prints figures and a
// table of medians and ratios; asserts nothing. Each ratio's two sides run alternately in the
// same session, so machine noise falls on both.
//
//   npm run bench -- [--n 1000000] [--runs 3] [--only pull,push,...] [--json [file]]
//
// --n       changes in the synthetic datasets (push/pull/small/memory/import: rows x 4 columns;
//           big-small and health: rows x 8 columns; default 1,000,000)
// --runs    runs per case (medians are reported; default 3)
// --only    a comma-separated subset of: push,pull,wire,clone,small,memory,import,migrate,
//           big-small,old-replica,health,incr1k,blobs,live1,live100,cycles,snapshot, and the PostgreSQL store's
//           pg-cities,pg-load,pg-live,pg-requests (`pg`: all four; bench/cases-pg.mjs)
// --merges  recorded merges of the old replica (old-replica; default 2,000,000)
// --blob-mb  MB of 100 kB blobs (blobs; default 200, so 2,000 rows of 100,000 bytes)
// --load-seconds, --load-clients  the load under which health is sampled (default 15 s, 30 clients)
// --live-writes    writes of live1 (default 200); --live-watchers, --live-rounds: watchers and writes
//                  of live100 (100, 50); --live-idle-seconds (10), --live-down-ms: the hub's downtime
//                  in its restart (1000); --live-cycles: round trips of cycles (10000)
// --crsync  the bin/crsync.js to measure (default: this checkout's), e.g. a worktree of older
//           code; its dist/ must be built. The bench scripts and yardsticks stay these.
// --json    print the figures as one JSON document on stdout instead of the table (or to a file)
// Quick look: --n 100000 --runs 1 --merges 200000 --blob-mb 20 --load-seconds 5
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cli, fmtInt, useCli } from './lib.mjs';
import { memoryCase, pullCase, pushCase } from './cases-sync.mjs';
import { cloneCase, importCase, migrateCase, smallSyncCase } from './cases-local.mjs';
import { bigSmallCase, oldReplicaCase } from './cases-small.mjs';
import { healthCase } from './cases-health.mjs';
import { blobsCase, incr1kCase } from './cases-incr.mjs';
import { live100Case, live1Case, liveCyclesCase } from './cases-live.mjs';
import { snapshotCase } from './cases-snapshot.mjs';
import { pgCitiesCase, pgLiveCase, pgLoadCase, pgRequestsCase, stopPg } from './cases-pg.mjs';
import { table } from './table.mjs';

function args() {
  try {
    return parseArgs({
      options: {
        n: { type: 'string' },
        runs: { type: 'string' },
        only: { type: 'string' },
        json: { type: 'string' },
        merges: { type: 'string' },
        'blob-mb': { type: 'string' },
        'load-seconds': { type: 'string' },
        'load-clients': { type: 'string' },
        crsync: { type: 'string' },
        'live-writes': { type: 'string' },
        'live-watchers': { type: 'string' },
        'live-rounds': { type: 'string' },
        'live-idle-seconds': { type: 'string' },
        'live-down-ms': { type: 'string' },
        'live-cycles': { type: 'string' },
      },
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
const merges = Number(values.merges ?? 2_000_000);
const blobMB = Number(values['blob-mb'] ?? 200);
const loadSeconds = Number(values['load-seconds'] ?? 15);
const loadClients = Number(values['load-clients'] ?? 30);
if (!(n >= 4000) || !(runs >= 1) || !(merges >= 2) || !(blobMB > 0) || !(loadSeconds > 0) || !(loadClients >= 1)) {
  console.error('bench: --n must be at least 4000, --runs and --load-clients at least 1, --merges at least 2, --blob-mb and --load-seconds above 0');
  process.exit(2);
}
const live = {
  liveWrites: Number(values['live-writes'] ?? 200),
  liveWatchers: Number(values['live-watchers'] ?? 100),
  liveRounds: Number(values['live-rounds'] ?? 50),
  liveIdleSeconds: Number(values['live-idle-seconds'] ?? 10),
  liveDownMs: Number(values['live-down-ms'] ?? 1000),
  liveCycles: Number(values['live-cycles'] ?? 10_000),
};
if (!Object.values(live).every((v) => Number.isInteger(v) && v >= 1)) {
  console.error('bench: the --live-* options take whole numbers of at least 1');
  process.exit(2);
}
if (values.crsync) {
  try {
    useCli(values.crsync);
  } catch (err) {
    console.error(`bench: --crsync: ${err.message}`);
    process.exit(2);
  }
}
const PG = ['pg-cities', 'pg-load', 'pg-live', 'pg-requests'];
const all = ['push', 'pull', 'wire', 'clone', 'small', 'memory', 'import', 'migrate', 'big-small', 'old-replica', 'health', 'incr1k', 'blobs', 'live1', 'live100', 'cycles', 'snapshot', ...PG];
const only = new Set(values.only ? values.only.split(',').flatMap((c) => (c === 'pg' ? PG : [c])) : all);
const unknown = [...only].filter((c) => !all.includes(c));
if (unknown.length > 0) {
  console.error(`bench: unknown case ${unknown.join(', ')} (cases: ${all.join(', ')})`);
  process.exit(2);
}
const jsonOut = values.json;
const log = (s) => process.stderr.write(`${s}\n`);
const dir = mkdtempSync(join(tmpdir(), 'crsync-bench-'));
const ctx = { dir, n, runs, log, merges, blobMB, loadSeconds, loadClients, ...live, state: {} };
const figures = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, crsync: cli, n, runs, merges, blobMB, cases: {} };
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
  if (only.has('big-small')) f['big-small'] = await step('small operations, big vs small replica', () => bigSmallCase(ctx));
  if (only.has('old-replica')) f['old-replica'] = await step('no-op sync, old vs fresh replica', () => oldReplicaCase(ctx));
  if (only.has('health')) f.health = await step('hub health under work', () => healthCase(ctx));
  if (only.has('incr1k')) f.incr1k = await step('1,000 rows of the cities, A to B', () => incr1kCase(ctx));
  if (only.has('blobs')) f.blobs = await step('blobs', () => blobsCase(ctx));
  if (only.has('live1')) f.live1 = await step('live: write -> visible, two processes', () => live1Case(ctx));
  if (only.has('live100')) f.live100 = await step(`live: ${live.liveWatchers} watchers, then a hub restart`, () => live100Case(ctx));
  if (only.has('cycles')) f.cycles = await step(`live: ${live.liveCycles} sync cycles of one watcher`, () => liveCyclesCase(ctx));
  if (only.has('snapshot')) f.snapshot = await step('snapshot clone and first push of the cities', () => snapshotCase(ctx));
  if (only.has('pg-cities')) f['pg-cities'] = await step('cities on PostgreSQL vs SQLite', () => pgCitiesCase(ctx));
  if (only.has('pg-load')) f['pg-load'] = await step('load on 1 and 2 hubs over PostgreSQL', () => pgLoadCase(ctx));
  if (only.has('pg-live')) f['pg-live'] = await step('write to visible across hubs', () => pgLiveCase(ctx));
  if (only.has('pg-requests')) f['pg-requests'] = await step('per-request costs on both stores', () => pgRequestsCase(ctx));
} finally {
  await stopPg(ctx);
  rmSync(dir, { recursive: true, force: true });
}

const json = JSON.stringify(figures, (_k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v), 2);
if (jsonOut === '-') process.stdout.write(json + '\n');
else {
  if (jsonOut) writeFileSync(jsonOut, json + '\n');
  console.log(`\ncrsync benchmark: N = ${fmtInt(n)} changes, ${runs} runs per case, medians; Node ${process.version}, ${figures.cpus} cores; crsync ${cli}\n`);
  console.log(table(f));
}
