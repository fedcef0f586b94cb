#!/usr/bin/env node
// crsync benchmark: prints figures, asserts nothing. Sizes via env:
//   BENCH_ROWS (default 250000 rows x 4 columns = 1,000,000 changes)
// Measures: seeding, push to a hub on loopback, clone from it, an incremental pull,
// bytes on the wire, peak RSS of client and hub, and (bench/migrate.mjs, when present)
// adding a column to a replicated table against the same ALTER on a plain table.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'crsync.js');
const ext = join(root, 'native', 'crsqlite.so');
const rows = Number(process.env.BENCH_ROWS ?? 250_000);
const dir = mkdtempSync(join(tmpdir(), 'crsync-bench-'));
const figures = {};
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function crsync(...args) {
  return execFileSync('node', [cli, ...args], { encoding: 'utf8' });
}
function worker(...args) {
  return JSON.parse(execFileSync('node', [join(root, 'bench', 'worker.mjs'), ...args], { encoding: 'utf8' }));
}
function peakRssMB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startHub(hubDir) {
  const proc = spawn('node', [cli, 'serve', '--dir', hubDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((res) => createInterface({ input: proc.stdout }).once('line', res));
  return { proc, url: url.trim() };
}

try {
  // 1. Seed replica A with `rows` rows in one replicated table.
  const a = join(dir, 'a.db');
  crsync('-d', a, 'init');
  crsync('-d', a, 'sql', 'CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, note TEXT)');
  crsync('-d', a, 'track', 'items');
  let t = performance.now();
  const db = new Database(a);
  db.loadExtension(ext);
  const ins = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?)');
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++) ins.run(i, `item ${i}`, i % 1000, i / 7, i % 3 === 0 ? null : 'note ' + (i % 97));
  });
  for (let i = 0; i < rows; i += 10_000) batch(i, Math.min(rows, i + 10_000));
  db.prepare('SELECT crsql_finalize()').run();
  db.close();
  const changes = rows * 4;
  figures.seed = { rows, changes, ms: performance.now() - t, dbMB: statSync(a).size / 2 ** 20 };
  console.log(`seed: ${fmt(rows)} rows, ${fmt(changes)} changes in ${fmt(figures.seed.ms)} ms`);

  // 2. Push everything to a fresh hub.
  const hub = await startHub(join(dir, 'hub'));
  crsync('-d', a, 'remote', 'add', 'origin', `${hub.url}/bench`);
  const push = worker('push', a);
  figures.push = { changes: push.result.sent, ms: push.ms, perSec: (push.result.sent * 1000) / push.ms, wireMB: push.result.bytes / 2 ** 20, clientRssMB: push.maxRssMB };
  console.log(`push: ${fmt(push.result.sent)} changes in ${fmt(push.ms)} ms = ${fmt(figures.push.perSec)} changes/s, ${figures.push.wireMB.toFixed(1)} MiB on the wire, client peak RSS ${figures.push.clientRssMB.toFixed(0)} MiB`);

  // 3. Clone it into a new replica (pull of everything).
  const b = join(dir, 'b.db');
  const clone = worker('clone', `${hub.url}/bench`, b);
  figures.clone = { changes: clone.result.received, ms: clone.ms, perSec: (clone.result.received * 1000) / clone.ms, wireMB: clone.result.bytes / 2 ** 20, clientRssMB: clone.maxRssMB };
  console.log(`clone: ${fmt(clone.result.received)} changes in ${fmt(clone.ms)} ms = ${fmt(figures.clone.perSec)} changes/s, ${figures.clone.wireMB.toFixed(1)} MiB on the wire, client peak RSS ${figures.clone.clientRssMB.toFixed(0)} MiB`);

  // 4. A small incremental sync: 1% of rows updated on A, pushed, pulled by B.
  const edits = Math.max(1, Math.floor(rows / 100));
  crsync('-d', a, 'sql', `UPDATE items SET qty = qty + 1 WHERE id % 100 = 0`);
  const push2 = worker('push', a);
  const pull2 = worker('pull', b);
  figures.incremental = { rowsEdited: edits, pushMs: push2.ms, pullMs: pull2.ms, pulled: pull2.result.received };
  console.log(`incremental: ${fmt(edits)} rows edited; push ${fmt(push2.ms)} ms, pull ${fmt(pull2.ms)} ms (${fmt(pull2.result.received)} changes)`);

  figures.hubRssMB = peakRssMB(hub.proc.pid);
  console.log(`hub peak RSS: ${figures.hubRssMB.toFixed(0)} MiB`);
  hub.proc.kill('SIGTERM');
  await new Promise((r) => hub.proc.once('exit', r));

  // 5. Schema migration timing, when the migrate benchmark exists.
  const migrate = join(root, 'bench', 'migrate.mjs');
  if (existsSync(migrate)) {
    const m = await import(migrate);
    if (typeof m.run === 'function') figures.migrate = await m.run();
  }
  console.log(JSON.stringify(figures, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
