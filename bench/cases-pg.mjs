// Benchmark cases of the PostgreSQL store (`crsync serve --store postgres://…`) beside the SQLite
// store, on one throwaway cluster (scripts/pg-cluster.mjs: fsync off, as in the tests):
//   pg-cities    push, pull, change-stream clone, snapshot clone and first push by snapshot of the 171k cities, one hub process per store
//   pg-load      bench/load.mjs on 1 and on 2 hub processes over one database (and on SQLite files)
//   pg-live      write -> visible with live sync: a write pushed to hub A, a watcher on hub B
//   pg-requests  bench/hub-requests.mjs on each store: info, empty pull, no-op push, count
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startPgCluster } from '../scripts/pg-cluster.mjs';
import { citiesReplica } from './cities.mjs';
import { cli, closeDb, cpuMsOf, crsync, emptyReplica, importDist, median, nodeJson, openDb, root, startHubOn } from './lib.mjs';

/** The run's one cluster, started on first use and stopped by `stopPg`. */
async function cluster(ctx) {
  ctx.state.pg ??= startPgCluster();
  return ctx.state.pg;
}

export async function stopPg(ctx) {
  if (ctx.state.pg) await (await ctx.state.pg).stop();
}

/**
 * CPU time (ms) used so far by the cluster's server processes alive now: the postmaster and its
 * children (the backends of the hubs' pooled connections live as long as the hub).
 */
async function pgCpuMs(ctx) {
  const c = await cluster(ctx);
  const pid = Number(readFileSync(join(c.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  let ms = 0;
  for (const p of [pid, ...kids]) {
    try {
      ms += cpuMsOf(p);
    } catch {
      // a backend that ended meanwhile
    }
  }
  return ms;
}

let databases = 0;
/** A new empty database of the cluster, as a URL. */
async function database(ctx, prefix) {
  const c = await cluster(ctx);
  const name = `${prefix}_${++databases}`;
  const client = new pg.Client({ connectionString: c.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return c.urlOf(name);
}

async function dropDatabase(ctx, url) {
  const c = await cluster(ctx);
  const client = new pg.Client({ connectionString: c.url });
  await client.connect();
  try {
    await client.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

const perSec = (changes, ms) => (changes * 1000) / ms;

/** Median ms and changes/s of a list of worker figures, with the hub's CPU. */
function summary(list) {
  const ms = median(list.map((r) => r.ms));
  return { medianMs: ms, changesPerSec: perSec(list[0].changes, ms), runsMs: list.map((r) => Math.round(r.ms)), cpuMs: median(list.map((r) => r.cpuMs)), hubCpuMs: median(list.map((r) => r.hubCpuMs)), pgCpuMs: median(list.map((r) => r.pgCpuMs)) };
}

/** One store's push, pull and clone of the cities replica `src` (a new hub and dataset each run). */
async function citiesOnce(ctx, kind, src, i) {
  const { dir } = ctx;
  const store = kind === 'sqlite' ? { dir: join(dir, `pgc-hub-${i}`) } : { postgres: await database(ctx, 'cities') };
  const hub = await startHubOn(store);
  // The hub's CPU, and on PostgreSQL the server's too (its backends for this hub's pool).
  const serverCpu = () => (store.postgres ? pgCpuMs(ctx) : 0);
  const cpu = async (fn) => {
    const [h0, s0] = [hub.cpuMs(), await serverCpu()];
    const r = fn();
    return { ...r, hubCpuMs: hub.cpuMs() - h0, pgCpuMs: (await serverCpu()) - s0 };
  };
  const url = `${hub.url}/cities`;
  const out = {};
  try {
    const remote = `${kind}${i}`;
    crsync('-d', src, 'remote', 'add', remote, url);
    out.push = await cpu(() => nodeJson('worker.mjs', 'push', src, remote));
    const target = join(dir, `pgc-pull-${kind}-${i}.db`);
    crsync('-d', target, 'init');
    crsync('-d', target, 'remote', 'add', 'origin', url);
    out.pull = await cpu(() => nodeJson('worker.mjs', 'pull', target, 'origin'));
    rmSync(target, { force: true });
    out.clone = await cpu(() => nodeJson('worker.mjs', 'clone', url, target, 'no-snapshot'));
    rmSync(target, { force: true });
    // The default clone: a snapshot (the SQLite hub copies its file, PostgreSQL writes one from its cells).
    out.snapshotClone = await cpu(() => nodeJson('worker.mjs', 'clone', url, target));
    rmSync(target, { force: true });
    // A first push by snapshot, into a second dataset.
    crsync('-d', src, 'remote', 'add', `${remote}s`, `${hub.url}/cities-snapshot`);
    out.snapshotPush = await cpu(() => nodeJson('worker.mjs', 'push', src, `${remote}s`, 'snapshot'));
  } finally {
    await hub.stop();
    if (store.dir) rmSync(store.dir, { recursive: true, force: true });
    else await dropDatabase(ctx, store.postgres);
  }
  return out;
}

/**
 * Push, pull and change-stream clone of the 171k cities (1,026,450 changes), on the SQLite store
 * and on the PostgreSQL store, alternating run by run; ratio = PostgreSQL / SQLite changes/s.
 */
export async function pgCitiesCase(ctx) {
  const { dir, runs, log } = ctx;
  const src = join(dir, 'pgc-cities.db');
  const rows = citiesReplica(src);
  const runsOf = { sqlite: [], postgres: [] };
  for (let i = 0; i < runs; i++) {
    for (const kind of ['sqlite', 'postgres']) {
      const r = await citiesOnce(ctx, kind, src, i);
      runsOf[kind].push(r);
      log(`  ${kind} run ${i + 1}: push ${Math.round(r.push.ms)} ms, pull ${Math.round(r.pull.ms)} ms, clone ${Math.round(r.clone.ms)} ms, snapshot clone ${Math.round(r.snapshotClone.ms)} ms, snapshot push ${Math.round(r.snapshotPush.ms)} ms`);
    }
  }
  rmSync(src, { force: true });
  const out = { rows, changes: runsOf.sqlite[0].push.changes };
  for (const op of ['push', 'pull', 'clone', 'snapshotClone', 'snapshotPush']) {
    const s = summary(runsOf.sqlite.map((r) => r[op]));
    const p = summary(runsOf.postgres.map((r) => r[op]));
    out[op] = { sqlite: s, postgres: p, ratio: p.changesPerSec / s.changesPerSec };
  }
  return out;
}

/** bench/load.mjs as a child; its figures (printed as one JSON document), also when it exits 1. */
function loadRun(ctx, args) {
  const cmd = [join(root, 'bench', 'load.mjs'), '--json', '--clients', String(ctx.loadClients), '--seconds', String(ctx.loadSeconds), ...args];
  let out;
  try {
    out = execFileSync('node', cmd, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    if (!err.stdout) throw err;
    out = err.stdout;
  }
  return JSON.parse(out);
}

/** The 30-client load on SQLite files, then on 1 and on 2 hub processes over one PostgreSQL database each. */
export async function pgLoadCase(ctx) {
  const { log } = ctx;
  const out = {};
  const line = (f) => `${f.opsPerSec} ops/s, push p50 ${f.latencyMs.push.p50} ms p99 ${f.latencyMs.push.p99} ms, ${f.errors} errors, ${f.converged ? 'converged' : 'DIVERGED'}`;
  out.sqlite = loadRun(ctx, []);
  log(`  sqlite, 1 hub: ${line(out.sqlite)}`);
  for (const hubs of [1, 2]) {
    const url = await database(ctx, 'load');
    const f = loadRun(ctx, ['--store', url, '--hubs', String(hubs)]);
    await dropDatabase(ctx, url);
    out[`postgres${hubs}`] = f;
    log(`  postgres, ${hubs} hub${hubs > 1 ? 's' : ''}: ${line(f)}`);
  }
  return out;
}

/** `crsync sync --watch --json` on `db`; resolves once it reports itself live. */
async function watcher(db) {
  const proc = spawn('node', [cli, '-d', db, 'sync', '--watch', '--json'], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NO_COLOR: '1' } });
  await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the watcher did not go live within 20 s')), 20_000);
    createInterface({ input: proc.stdout }).on('line', (l) => {
      if (l.includes('"state":"live"')) {
        clearTimeout(timer);
        res();
      }
    });
  });
  return { stop: () => new Promise((r) => (proc.kill('SIGTERM'), proc.once('exit', r))) };
}

/**
 * Write -> visible: replica a writes one row and pushes it (in this process) to hub A; replica b,
 * live-synced by a watcher with hub B, is polled (read-only SQLite, every millisecond) until the
 * row is there. `hubs` is [A, B] (the same hub twice: through one process).
 */
async function visible(ctx, name, urls, reps) {
  const { pushChanges } = await importDist('sync/client/engine.js');
  const a = join(ctx.dir, `live-${name}-a.db`);
  const b = join(ctx.dir, `live-${name}-b.db`);
  emptyReplica(a, 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, note TEXT)', ['t']);
  crsync('-d', a, 'remote', 'add', 'origin', `${urls[0]}/${name}`);
  crsync('-d', a, 'push', '--create');
  crsync('clone', `${urls[1]}/${name}`, b);
  const w = await watcher(b);
  const reader = new Database(b, { readonly: true });
  const has = reader.prepare('SELECT 1 FROM t WHERE id = ?');
  const db = openDb(a);
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
  const ms = [];
  try {
    for (let k = 1; k <= reps + 2; k++) {
      const t0 = performance.now();
      insert.run(k, `row ${k}`);
      await pushChanges({ dbPath: a, remote: 'origin', env: {} });
      while (!has.get(k)) {
        if (performance.now() - t0 > 10_000) throw new Error(`row ${k} not visible on b within 10 s (${name})`);
        await new Promise((r) => setTimeout(r, 1));
      }
      // The first two warm the processes up; then a pause, so writes do not queue behind each other.
      if (k > 2) ms.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    closeDb(db);
    reader.close();
    await w.stop();
  }
  const s = [...ms].sort((x, y) => x - y);
  return { reps, p50: median(ms), p90: s[Math.ceil(0.9 * s.length) - 1], max: s.at(-1) };
}

/** Write -> visible through one SQLite hub, one PostgreSQL hub, and two PostgreSQL hubs on one database. */
export async function pgLiveCase(ctx) {
  const { dir, log } = ctx;
  const reps = Math.max(30, ctx.runs * 10);
  const url = await database(ctx, 'live');
  const sqliteHub = await startHubOn({ dir: join(dir, 'live-hub') });
  const pgA = await startHubOn({ postgres: url });
  const pgB = await startHubOn({ postgres: url });
  const out = {};
  try {
    // Alternating, so load on the shared machine falls on each alike.
    for (let round = 0; round < 3; round++) {
      for (const [name, urls] of [['sqlite', [sqliteHub.url, sqliteHub.url]], ['postgres1', [pgA.url, pgA.url]], ['postgres2', [pgA.url, pgB.url]]]) {
        const r = await visible(ctx, `${name}-${round}`, urls, Math.ceil(reps / 3));
        (out[name] ??= []).push(r);
        log(`  ${name} round ${round + 1}: p50 ${r.p50.toFixed(1)} ms, p90 ${r.p90.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`);
      }
    }
  } finally {
    await Promise.all([sqliteHub.stop(), pgA.stop(), pgB.stop()]);
  }
  for (const k of Object.keys(out)) out[k] = { p50: median(out[k].map((r) => r.p50)), p90: median(out[k].map((r) => r.p90)), max: Math.max(...out[k].map((r) => r.max)), rounds: out[k] };
  out.ratio = out.postgres2.p50 / out.postgres1.p50;
  return out;
}

/** bench/hub-requests.mjs on SQLite files and on PostgreSQL (a database of this run's cluster). */
export async function pgRequestsCase(ctx) {
  const { log, n } = ctx;
  const args = ['--json', '--requests', '500', '--rows', String(Math.min(250_000, n / 4))];
  const out = { sqlite: nodeJson('hub-requests.mjs', ...args) };
  const url = await database(ctx, 'requests');
  out.postgres = nodeJson('hub-requests.mjs', ...args, '--store', url);
  await dropDatabase(ctx, url);
  for (const k of ['sqlite', 'postgres']) {
    const r = out[k];
    log(`  ${k}: info p50 ${r.info.p50} ms, empty pull ${r.emptyPull.p50} ms, no-op push ${r.noopPush.p50} ms, count of ${r.count.changes} ${r.count.ms} ms`);
  }
  return out;
}
