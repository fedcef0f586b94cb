#!/usr/bin/env node
// What one small request costs a hub, and whether it stays responsive during a big count.
//   node bench/hub-requests.mjs [--requests 200] [--rows 250000] [--tables 1] [--store sqlite|postgres|postgres://…] [--json]
// --store: where the hub keeps the datasets: SQLite files (default; seeded in place), or
// PostgreSQL: a throwaway cluster (`postgres`, scripts/pg-cluster.mjs) or the given empty
// database; there the datasets are seeded by pushing replicas built the same way.
// 1. Sequential requests against a small dataset (1000 rows; `tables` replicated tables): info, an empty pull (from the end
//    of the stream), a no-op push (header and end frames, no page). Mean and p50/p99 per kind.
//    Then what a client's engine does (a clone of it, in this process): a no-op sync, and a
//    one-row push (one UPDATE, then push: info and a one-change page). With each, the CPU per
//    request of the hub (and of PostgreSQL's backends), which is what sizing needs.
// 2. A stale count (GET changes?count=1 from the start) of a dataset of `rows` rows (4 changes
//    each), while /v1/health is polled every 10 ms: the count's time and health latencies.
// Needs `npm run build` first (runs the built CLI and dist/ modules).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { closeDb, cpuMsOf, crsync, importDist, openDb, seedItems, startHub, startHubOn } from './lib.mjs';
import { startPgCluster } from '../scripts/pg-cluster.mjs';
import { encodeEnd, encodeHeader } from '../dist/sync/protocol/codec.js';
import { FRAMES_MEDIA_TYPE } from '../dist/sync/protocol/types.js';

const { pushChanges, syncChanges } = await importDist('sync/client/engine.js');
const { cloneReplica } = await importDist('sync/client/clone.js');

const { values: flags } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    rows: { type: 'string', default: '250000' },
    tables: { type: 'string', default: '1' },
    store: { type: 'string', default: 'sqlite' },
    json: { type: 'boolean', default: false },
  },
});
const requests = Number(flags.requests);
const rows = Number(flags.rows);
const say = (line) => (flags.json ? process.stderr : process.stdout).write(line + '\n');
const store = flags.store;
if (store !== 'sqlite' && !store.startsWith('postgres')) {
  console.error('hub-requests: --store is sqlite, postgres (a throwaway cluster) or a postgres:// URL');
  process.exit(2);
}

function stats(list) {
  const s = [...list].sort((a, b) => a - b);
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0);
  const r = (x) => Math.round(x * 100) / 100;
  return { count: s.length, mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)), p50: r(at(50)), p99: r(at(99)), max: r(s.at(-1) ?? 0) };
}

/**
 * CPU time (ms) so far of the hub process and, on PostgreSQL, of the server processes serving
 * the store's database (pg_stat_activity's backends: the hub's pool; a server on this machine).
 */
let cpuNow = async () => ({ hub: 0, pg: 0 });

async function timed(n, fn) {
  for (let i = 0; i < 5; i++) await fn(); // warm-up: the dataset opened, the JIT warm
  const out = [];
  const c0 = await cpuNow();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  const c1 = await cpuNow();
  const r2 = (x) => Math.round(x * 1000) / 1000;
  return { ...stats(out), hubCpuMs: r2((c1.hub - c0.hub) / n), pgCpuMs: r2((c1.pg - c0.pg) / n) };
}

async function ok(res) {
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${res.status}: ${body.toString()}`);
  return body;
}

const dir = mkdtempSync(join(tmpdir(), 'crsync-hubreq-'));
let hub;
let cluster;
let watch;
try {
  say(`seeding: small (1000 rows) and big (${rows} rows, ${rows * 4} changes)`);
  mkdirSync(join(dir, 'hub'));
  seedItems(join(dir, 'hub', 'small.db'), 1000);
  for (let t = 2; t <= Number(flags.tables); t++) {
    crsync('-d', join(dir, 'hub', 'small.db'), 'sql', `CREATE TABLE extra${t} (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, note TEXT)`);
    crsync('-d', join(dir, 'hub', 'small.db'), 'track', `extra${t}`);
  }
  seedItems(join(dir, 'hub', 'big.db'), rows);
  if (store === 'sqlite') hub = await startHub(join(dir, 'hub'));
  else {
    if (store === 'postgres') cluster = await startPgCluster();
    hub = await startHubOn({ postgres: cluster?.url ?? store });
    for (const name of ['small', 'big']) {
      const db = join(dir, 'hub', `${name}.db`);
      crsync('-d', db, 'remote', 'add', 'origin', `${hub.url}/${name}`);
      crsync('-d', db, 'push', '--create');
    }
  }
  if (store !== 'sqlite') {
    watch = new pg.Client({ connectionString: cluster?.url ?? store });
    await watch.connect();
  }
  cpuNow = async () => {
    let pgMs = 0;
    if (watch) {
      const pids = (await watch.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')).rows.map((r) => r.pid);
      for (const p of pids) {
        try {
          pgMs += cpuMsOf(p);
        } catch {
          // a backend that ended meanwhile
        }
      }
    }
    return { hub: hub.cpuMs(), pg: pgMs };
  };
  const base = `${hub.url}/v1/datasets`;
  const site = randomBytes(16);
  const hex = site.toString('hex');
  const info = JSON.parse((await ok(await fetch(`${base}/small?site=${hex}`))).toString());
  const end = `${base}/small/changes?since=${info.dbVersion}&seq=9007199254740991&site=${hex}`;
  const push = gzipSync(Buffer.concat([encodeHeader({ site, schemaHash: info.schema.hash }), encodeEnd({ cursor: { version: 0n, seq: -1n }, changes: 0 })]));
  const results = {
    info: await timed(requests, async () => ok(await fetch(`${base}/small?site=${hex}`))),
    emptyPull: await timed(requests, async () => ok(await fetch(end, { headers: { 'accept-encoding': 'gzip' } }))),
    noopPush: await timed(requests, async () =>
      ok(await fetch(`${base}/small/changes`, { method: 'POST', body: push, headers: { 'content-type': FRAMES_MEDIA_TYPE, 'content-encoding': 'gzip' } })),
    ),
  };
  // A client of the small dataset: a no-op sync is what an idle client does every N seconds.
  const client = join(dir, 'client.db');
  await cloneReplica(`${hub.url}/small`, client, { env: {} });
  const opts = { dbPath: client, remote: 'origin', env: {} };
  results.noopSync = await timed(requests, () => syncChanges(opts));
  const edit = openDb(client);
  const update = edit.prepare('UPDATE items SET qty = ? WHERE id = ?');
  let k = 0;
  results.rowPush = await timed(requests, async () => {
    k++;
    update.run(k, k % 1000);
    await pushChanges(opts);
  });
  closeDb(edit);
  for (const [k, v] of Object.entries(results)) say(`${k.padEnd(10)} mean ${v.mean} ms  p50 ${v.p50}  p99 ${v.p99}  max ${v.max}; CPU per request: hub ${v.hubCpuMs} ms, PostgreSQL ${v.pgCpuMs} ms`);

  // Health while a stale count runs (a site that never pulled: every change counts).
  await ok(await fetch(`${base}/big?site=${hex}`)); // opened before the clock starts
  const health = [];
  let counting = true;
  const poll = (async () => {
    while (counting) {
      const t = performance.now();
      await ok(await fetch(`${hub.url}/v1/health`));
      health.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const c0 = await cpuNow();
  const t = performance.now();
  const count = JSON.parse((await ok(await fetch(`${base}/big/changes?count=1&since=0&seq=-1&site=${hex}`))).toString()).count;
  const countMs = Math.round(performance.now() - t);
  counting = false;
  await poll;
  const c1 = await cpuNow();
  results.count = { changes: count, ms: countMs, hubCpuMs: Math.round(c1.hub - c0.hub), pgCpuMs: Math.round(c1.pg - c0.pg), health: stats(health) };
  const h = results.count.health;
  say(`count of ${count} changes: ${countMs} ms (CPU: hub ${results.count.hubCpuMs} ms, PostgreSQL ${results.count.pgCpuMs} ms); health during it: ${h.count} checks, p50 ${h.p50} ms  p99 ${h.p99}  max ${h.max}`);
  if (flags.json) process.stdout.write(JSON.stringify({ store: store === 'sqlite' ? 'sqlite' : 'postgres', ...results }) + '\n');
} finally {
  await watch?.end();
  await hub?.stop();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
