#!/usr/bin/env node
// crsync load benchmark (`npm run bench:load`): one `crsync serve` hub on loopback and N clients
// (worker threads, each its own replica file, the real engine and HTTP transport) making small
// edits and pushing or pulling in a loop for a bounded time; then a final sync round and a check
// that every replica and the hub hold the same rows. Exits 1 on any error or divergence.
//   --clients <n>   (LOAD_CLIENTS, default 30; 20-50 is the range it is meant for)
//   --seconds <s>   (LOAD_SECONDS, default 30)
//   --json          print the figures as one JSON document on stdout (the text goes to stderr)
//   --health-interval <ms>  how often the health endpoint is polled (default 200)
//   --store <postgres://…>  the hubs keep the dataset in that (empty) PostgreSQL database, not in files
//   --hubs <n>      hub processes on that one database (default 1); client i syncs with hub i % n
//   $CRSYNC_BENCH_CLI       another checkout's bin/crsync.js to load (see bench/run.mjs --crsync)
// Prints operations/s, changes/s, latency p50/p95/p99/max per operation, the latency of the
// hub's health endpoint under load (is it responsive), and the hub's peak RSS.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { cli, importDist } from './lib.mjs';

const { initReplica, trackTables } = await importDist('db/replica.js', 'replica.js');
const { addRemote } = await importDist('db/state/remotes.js', 'db/remotes.js', 'remotes.js');
const { withStore } = await importDist('db/store.js', 'store.js');
const { pushChanges } = await importDist('sync/client/engine.js', 'sync/engine.js');
const { cloneReplica } = await importDist('sync/client/clone.js', 'sync/clone.js');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    clients: { type: 'string' },
    seconds: { type: 'string' },
    json: { type: 'boolean', default: false },
    'health-interval': { type: 'string' },
    store: { type: 'string' },
    hubs: { type: 'string' },
  },
});
const healthEvery = Number(flags['health-interval'] ?? 200);
const clients = Number(flags.clients ?? process.env.LOAD_CLIENTS ?? 30);
const seconds = Number(flags.seconds ?? process.env.LOAD_SECONDS ?? 30);
const store = flags.store;
const hubCount = Number(flags.hubs ?? 1);
if (!Number.isInteger(clients) || clients < 1 || !(seconds > 0) || !Number.isInteger(hubCount) || hubCount < 1 || (hubCount > 1 && !store) || (store && !store.startsWith('postgres'))) {
  console.error('usage: node bench/load.mjs [--clients 1..] [--seconds s] [--json] [--store postgres://… [--hubs n]]');
  process.exit(2);
}
const say = (line) => (flags.json ? process.stderr : process.stdout).write(line + '\n');
const SHARED = 50;
const dir = mkdtempSync(join(tmpdir(), 'crsync-load-'));

function percentiles(list) {
  const s = [...list].sort((a, b) => a - b);
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0);
  const r = (x) => Math.round(x * 10) / 10;
  return { count: s.length, p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(s.at(-1) ?? 0) };
}

/** The rows of items as one hash: equal hashes, equal data. */
function digest(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT id, owner, n, note FROM items ORDER BY id').raw(true).safeIntegers(true).all();
    return { rows: rows.length, hash: createHash('sha1').update(rows.map((r) => r.join('|')).join('\n')).digest('hex') };
  } finally {
    db.close();
  }
}

const peakRssMB = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

// LOAD_HUB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=prof", to profile the hub under load.
const hubNodeArgs = (process.env.LOAD_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const where = store ? ['--store', store] : ['--dir', join(dir, 'hub')];
const hubs = Array.from({ length: hubCount }, () => spawn('node', [...hubNodeArgs, cli, 'serve', ...where, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] }));
let failed;
try {
  const urls = await Promise.all(hubs.map(async (h) => (await new Promise((res) => createInterface({ input: h.stdout }).once('line', res))).trim()));
  const url = urls[0];
  const seed = join(dir, 'seed.db');
  initReplica(seed);
  withStore(seed, {}, (s) => {
    s.db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, owner INTEGER, n INTEGER, note TEXT)');
    trackTables(s, ['items']);
    s.db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${SHARED}) INSERT INTO items SELECT i, -1, 0, 'shared' FROM s`);
    addRemote(s.db, 'origin', `${url}/load`);
  });
  await pushChanges({ dbPath: seed, remote: 'origin', env: {}, create: true });

  const workers = [];
  const ready = [];
  for (let index = 0; index < clients; index++) {
    const w = new Worker(join(root, 'bench', 'load-client.mjs'), { workerData: { url: `${urls[index % hubCount]}/load`, dir, index, shared: SHARED } });
    workers.push(w);
    ready.push(new Promise((res, rej) => {
      w.once('message', (m) => (m.error ? rej(new Error(`client ${index} clone: ${m.error}`)) : res(m.dbPath)));
      w.once('error', rej);
    }));
  }
  const files = await Promise.all(ready);
  say(`${clients} clients cloned ${urls.map((u) => `${u}/load`).join(', ')}; running for ${seconds} s`);

  // The hub's health endpoint, polled while the clients work: does it stay responsive?
  const health = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t = performance.now();
      try {
        const r = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(10_000) });
        await r.text();
        health.push(performance.now() - t);
      } catch {
        health.push(10_000);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, healthEvery - (performance.now() - t))));
    }
  })();

  const started = performance.now();
  const deadline = Date.now() + seconds * 1000;
  const done = await Promise.all(workers.map((w) => new Promise((res) => {
    w.once('message', res);
    w.postMessage({ type: 'run', deadline });
  })));
  const elapsed = (performance.now() - started) / 1000;
  polling = false;
  await poller;

  // Converge: everyone pushes what it has, then (the hub holding everything) everyone pulls.
  const finalErrors = [];
  const ask = (w, type) => new Promise((res) => {
    w.once('message', (m) => res(finalErrors.push(...m.errors)));
    w.postMessage({ type });
  });
  await Promise.all(workers.map((w) => ask(w, 'push')));
  await Promise.all(workers.map((w) => ask(w, 'pull')));
  await Promise.all(workers.map((w) => w.terminate()));

  // On PostgreSQL the hub's state is read as a client sees it: a fresh clone by change stream.
  let hubFile = join(dir, 'hub', 'load.db');
  if (store) await cloneReplica(`${url}/load`, (hubFile = join(dir, 'check.db')), { env: {}, snapshot: false });
  const hubDigest = digest(hubFile);
  const diverged = files.filter((f) => digest(f).hash !== hubDigest.hash).length;
  const all = (k) => done.flatMap((d) => d.lat[k]);
  const sum = (k) => done.reduce((n, d) => n + d.totals[k], 0);
  const errors = [...done.flatMap((d) => d.errors), ...finalErrors];
  const ops = all('push').length + all('pull').length;
  const figures = {
    clients,
    store: store ? 'postgres' : 'sqlite',
    hubs: hubCount,
    seconds: Math.round(elapsed * 10) / 10,
    operations: ops,
    opsPerSec: Math.round(ops / elapsed),
    // Each push or pull is two HTTP requests: dataset info, then the change stream.
    requestsPerSec: Math.round((2 * ops) / elapsed),
    changesPerSec: Math.round((sum('sent') + sum('received')) / elapsed),
    edits: sum('edits'),
    sent: sum('sent'),
    received: sum('received'),
    conflicts: sum('conflicts'),
    latencyMs: { push: percentiles(all('push')), pull: percentiles(all('pull')), health: percentiles(health) },
    hubPeakRssMB: Math.max(...hubs.map((h) => Math.round(peakRssMB(h.pid)))),
    rows: hubDigest.rows,
    converged: diverged === 0,
    diverged,
    errors: errors.length,
    errorSamples: errors.slice(0, 5),
  };
  failed = !figures.converged || errors.length > 0;

  const l = figures.latencyMs;
  const line = (name, p) => `  ${name.padEnd(6)} n=${p.count}  p50 ${p.p50} ms  p95 ${p.p95} ms  p99 ${p.p99} ms  max ${p.max} ms`;
  say(`${figures.operations} operations in ${figures.seconds} s: ${figures.opsPerSec} ops/s (${figures.requestsPerSec} requests/s), ${figures.changesPerSec} changes/s`);
  say(`${figures.edits} edits, ${figures.sent} changes sent, ${figures.received} received, ${figures.conflicts} conflicts recorded`);
  say('latency:');
  say(line('push', l.push));
  say(line('pull', l.pull));
  say(line('health', l.health));
  say(`hub peak RSS ${figures.hubPeakRssMB} MiB${hubCount > 1 ? ' (the largest)' : ''}; ${figures.rows} rows; ${figures.converged ? 'converged' : `${diverged} replicas DIVERGED`}; ${errors.length} errors`);
  for (const e of figures.errorSamples) say(`  error: ${e.op} ${e.code}: ${e.message}`);
  if (flags.json) process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
} catch (err) {
  console.error(`load benchmark failed: ${err.stack ?? err}`);
  failed = true;
} finally {
  await Promise.all(hubs.map((h) => (h.kill('SIGTERM'), new Promise((r) => (h.exitCode !== null ? r() : h.once('exit', r))))));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
