// A process hosting live watchers for bench/cases-live.mjs (forked, driven over IPC). Each watcher
// is what an app runs: a replica opened with the library (openReplica), startSync to the hub, and
// a watched query, whose callbacks are reported to the parent as they happen.
//   -> { type: 'setup', url, dir, first, count, create?, echo? }   <- { type: 'ready' }
//   -> { type: 'write', w, id }        one row written through replica w's connection
//   -> { type: 'usage' }               <- { type: 'usage', cpuMs, rssMiB, heapMiB }
//   -> { type: 'stop' }                <- { type: 'stopped' } and the process exits
//   <- { type: 'seen', w, n }           replica w's watch saw max(id) become n
//   <- { type: 'status', w, state, ms }  replica w's live status changed
// `echo`: a watcher that sees an odd id n (written elsewhere) writes n + 1 at once (a round trip).
import { join } from 'node:path';
import { importDist } from './lib.mjs';

const { openReplica } = await importDist('api/index.js');

export const LIVE_SQL = 'CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY NOT NULL, note TEXT)';
const watchers = [];
const send = (m) => process.send(m);

async function setup({ url, dir, first, count, create = false, echo = false }) {
  for (let w = first; w < first + count; w++) {
    const replica = openReplica(join(dir, `w${w}.db`), { env: { CRSYNC_RETRIES: '4' } });
    replica.addRemote('origin', url);
    if (create) {
      replica.db.exec(LIVE_SQL);
      replica.track('t');
      await replica.push('origin', { create: true });
    } else {
      await replica.pull('origin');
    }
    const insert = replica.db.prepare('INSERT INTO t (id, note) VALUES (?, ?)');
    const live = replica.startSync('origin');
    live.on('status', (s) => send({ type: 'status', w, state: s.state, ms: Date.now() }));
    replica.watch('SELECT max(id) AS n FROM t', [], (rows) => {
      const n = Number(rows[0]?.n ?? 0);
      send({ type: 'seen', w, n });
      if (echo && n % 2 === 1) insert.run(n + 1, `echo ${n}`);
    });
    watchers[w] = { replica, live, insert };
  }
}

process.on('message', async (m) => {
  if (m.type === 'setup') {
    try {
      await setup(m);
      send({ type: 'ready' });
    } catch (err) {
      send({ type: 'ready', error: String(err.stack ?? err) });
    }
  } else if (m.type === 'write') {
    watchers[m.w].insert.run(m.id, `row ${m.id}`);
  } else if (m.type === 'usage') {
    const c = process.cpuUsage();
    const mem = process.memoryUsage();
    send({ type: 'usage', cpuMs: (c.user + c.system) / 1000, rssMiB: mem.rss / 2 ** 20, heapMiB: mem.heapUsed / 2 ** 20 });
  } else if (m.type === 'stop') {
    await Promise.all(watchers.filter(Boolean).map((x) => x.live.stop()));
    for (const x of watchers.filter(Boolean)) x.replica.close();
    send({ type: 'stopped' });
    process.disconnect();
  }
});
