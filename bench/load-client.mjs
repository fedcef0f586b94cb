// One load client (a worker thread of bench/load.mjs): its own replica file, cloned from the hub,
// then a loop of small local edits and pushes/pulls through the real engine and HTTP transport
// until the deadline. Reports per-operation latencies, change counts and errors.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { importDist } from './lib.mjs';

const { url, dir, index, shared } = workerData;
const { pullChanges, pushChanges } = await importDist('sync/client/engine.js', 'sync/engine.js');
const { cloneReplica } = await importDist('sync/client/clone.js', 'sync/clone.js');
const { withStore } = await importDist('db/store.js', 'store.js');

const dbPath = join(dir, `client${index}.db`);
const env = { CRSYNC_RETRIES: '4' };
const opts = { dbPath, remote: 'origin', env, pageSize: 500 };
let seed = (index + 1) * 0x9e3779b9;
/** mulberry32: a small seeded PRNG, so a run's choices repeat. */
const rand = (n) => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (((t ^ (t >>> 14)) >>> 0) % n);
};

/** A few rows of its own and one shared row (concurrent with other clients: conflicts). */
function edit(k) {
  withStore(dbPath, {}, (s) => {
    s.db.transaction(() => {
      const ins = s.db.prepare('INSERT INTO items (id, owner, n, note) VALUES (?, ?, ?, ?)');
      for (let i = 0; i < 2; i++) ins.run(BigInt(index + 1) * 1_000_000n + BigInt(2 * k + i), index, k, `c${index} #${k}`);
      s.db.prepare('UPDATE items SET n = ?, note = ? WHERE id = ?').run(rand(1000), `c${index}`, 1 + rand(shared));
    })();
  });
}

const lat = { push: [], pull: [] };
const totals = { sent: 0, received: 0, conflicts: 0, edits: 0 };
const errors = [];

async function timed(kind, fn) {
  const t = performance.now();
  try {
    const r = await fn(opts);
    lat[kind].push(performance.now() - t);
    totals.sent += r.sent;
    totals.received += r.received;
    totals.conflicts += r.conflicts;
  } catch (err) {
    errors.push({ op: kind, code: err.code ?? 'internal', message: String(err.message ?? err) });
  }
}

parentPort.on('message', async (msg) => {
  if (msg.type === 'run') {
    let k = 0;
    while (Date.now() < msg.deadline) {
      edit(k++);
      totals.edits++;
      if (rand(2) === 0) await timed('push', pushChanges);
      else await timed('pull', pullChanges);
    }
    parentPort.postMessage({ type: 'done', lat, totals, errors });
  } else if (msg.type === 'push' || msg.type === 'pull') {
    const before = errors.length;
    await timed(msg.type, msg.type === 'push' ? pushChanges : pullChanges);
    parentPort.postMessage({ type: 'synced', errors: errors.slice(before) });
  }
});

try {
  await cloneReplica(url, dbPath, { env, pageSize: 500 });
  parentPort.postMessage({ type: 'ready', dbPath });
} catch (err) {
  parentPort.postMessage({ type: 'ready', dbPath, error: String(err.message ?? err) });
}
