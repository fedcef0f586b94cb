// The yardsticks crsync is measured against, each in one process with no network and no CLI.
// Prints one JSON line of figures.
//   copy <src> <dst>        stream every change of src into dst with raw crsql_changes SQL, one transaction
//   apply <src> <dst>       read every change of src into memory first (not timed), then merge them
//                           into dst in one transaction (timed): the merge's cost alone
//   insert <dst> <rows>     insert the synthetic rows into dst's items with one prepared statement
//   plain-cities <dst>      insert the cities dataset into a plain (not replicated) SQLite table
//   json-size <db>          bytes of db's changes written as JSON, one object per change, uncompressed
//                           and gzipped (zlib's default level 6; the hub's pulls use level 1)
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import Database from 'better-sqlite3';
import { closeDb, itemRow, openDb } from './lib.mjs';
import { CITIES_SQL, insertCities } from './cities.mjs';

const READ = 'SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes';
const [op, a, b] = process.argv.slice(2);
let started = performance.now();
let cpu0 = process.cpuUsage();
let figures;
const INSERT = 'INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

if (op === 'copy') {
  const src = openDb(a);
  const dst = openDb(b);
  const read = src.prepare(READ).raw(true).safeIntegers(true);
  const write = dst.prepare(INSERT);
  let changes = 0;
  dst.transaction(() => {
    for (const c of read.iterate()) {
      write.run(c);
      changes++;
    }
  })();
  closeDb(src);
  closeDb(dst);
  figures = { changes };
} else if (op === 'apply') {
  const src = openDb(a);
  const all = src.prepare(READ).raw(true).safeIntegers(true).all();
  closeDb(src);
  const dst = openDb(b);
  const write = dst.prepare(INSERT);
  started = performance.now();
  cpu0 = process.cpuUsage();
  dst.transaction(() => {
    for (const c of all) write.run(c);
  })();
  closeDb(dst);
  figures = { changes: all.length };
} else if (op === 'insert') {
  const rows = Number(b);
  const db = openDb(a);
  const ins = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(itemRow(i));
  })();
  closeDb(db);
  figures = { rows };
} else if (op === 'plain-cities') {
  const db = new Database(a);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(CITIES_SQL);
  const rows = insertCities(db);
  db.close();
  figures = { rows };
} else if (op === 'json-size') {
  const db = openDb(a);
  const hex = (v) => (Buffer.isBuffer(v) ? v.toString('hex') : v);
  const num = (v) => (typeof v === 'bigint' ? (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString()) : v);
  let bytes = 0;
  let changes = 0;
  // One gzip stream over the whole JSON text, fed in 1 MiB pieces.
  let gzBytes = 0;
  const gz = createGzip();
  gz.on('data', (d) => (gzBytes += d.length));
  const ended = once(gz, 'end');
  let chunk = [];
  let chunkBytes = 0;
  const flush = async () => {
    if (!gz.write(chunk.join(''))) await once(gz, 'drain');
    chunk = [];
    chunkBytes = 0;
  };
  for (const [table, pk, cid, val, colVersion, dbVersion, site, cl, seq] of db.prepare(READ).raw(true).safeIntegers(true).iterate()) {
    const o = { table, pk: hex(pk), cid, val: num(hex(val)), col_version: num(colVersion), db_version: num(dbVersion), site_id: hex(site), cl: num(cl), seq: num(seq) };
    const line = JSON.stringify(o) + '\n';
    bytes += Buffer.byteLength(line);
    chunk.push(line);
    chunkBytes += line.length;
    if (chunkBytes >= 2 ** 20) await flush();
    changes++;
  }
  await flush();
  gz.end();
  await ended;
  closeDb(db);
  figures = { changes, bytes, gzipBytes: gzBytes };
} else {
  throw new Error(`unknown op ${op}`);
}
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ op, ms, cpuMs: (cpu.user + cpu.system) / 1000, ...figures, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
