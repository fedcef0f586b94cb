// The yardsticks crsync is measured against, each in one process with no network and no CLI.
// Prints one JSON line of figures.
//   copy <src> <dst>        stream every change of src into dst with raw crsql_changes SQL, one transaction
//   insert <dst> <rows>     insert the synthetic rows into dst's items with one prepared statement
//   plain-cities <dst>      insert the cities dataset into a plain (not replicated) SQLite table
//   json-size <db>          bytes of db's changes written as uncompressed JSON, one object per change
import Database from 'better-sqlite3';
import { closeDb, itemRow, openDb } from './lib.mjs';
import { CITIES_SQL, insertCities } from './cities.mjs';

const READ = 'SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes';
const [op, a, b] = process.argv.slice(2);
const started = performance.now();
let figures;

if (op === 'copy') {
  const src = openDb(a);
  const dst = openDb(b);
  const read = src.prepare(READ).raw(true).safeIntegers(true);
  const write = dst.prepare(`INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
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
  for (const [table, pk, cid, val, colVersion, dbVersion, site, cl, seq] of db.prepare(READ).raw(true).safeIntegers(true).iterate()) {
    const o = { table, pk: hex(pk), cid, val: num(hex(val)), col_version: num(colVersion), db_version: num(dbVersion), site_id: hex(site), cl: num(cl), seq: num(seq) };
    bytes += Buffer.byteLength(JSON.stringify(o)) + 1;
    changes++;
  }
  closeDb(db);
  figures = { changes, bytes };
} else {
  throw new Error(`unknown op ${op}`);
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ op, ms, ...figures, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
