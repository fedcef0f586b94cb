// Benchmark: `crsync migrate` adding a column with a default to a replicated table of 100k rows,
// against the same migration on a plain (not replicated) table of the same rows.
// Usage: npm run build && node bench/migrate.mjs [rows]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runMigration } from '../dist/db/schema/migrate.js';
import { withStore } from '../dist/db/store.js';

const ROUNDS = 3;

function median(values) {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

/** A replica with table `items` of `rows` rows (4 columns), replicated or not. */
function makeDb(path, rows, replicated) {
  const started = performance.now();
  withStore(path, { create: true }, ({ db }) => {
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL)');
    db.prepare(
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
       INSERT INTO items SELECT i, 'item ' || i, i % 100, i * 1.5 FROM s`,
    ).run(rows);
    // Tracking after the insert backfills the clock table in one pass (same metadata as row-by-row writes).
    if (replicated) db.prepare("SELECT crsql_as_crr('items')").get();
  });
  return performance.now() - started;
}

/** Times one migration through the real code path (parse, check, one transaction, record). */
function timeMigration(path, sql) {
  const started = performance.now();
  runMigration({ dbPath: path, sql, source: 'bench' });
  return performance.now() - started;
}

function clockRows(path) {
  return withStore(path, {}, ({ db }) => Number(db.prepare('SELECT count(*) FROM items__crsql_clock').pluck().get()));
}

/** Runs the benchmark and returns its figures (milliseconds, medians of ROUNDS). */
export async function run(rows = 100_000) {
  const dir = mkdtempSync(join(tmpdir(), 'crsync-bench-migrate-'));
  try {
    const plain = join(dir, 'plain.db');
    const crr = join(dir, 'crr.db');
    const setupPlainMs = makeDb(plain, rows, false);
    const setupReplicatedMs = makeDb(crr, rows, true);
    const clockBefore = clockRows(crr);
    const plainTimes = [];
    const crrTimes = [];
    for (let i = 0; i < ROUNDS; i++) {
      const sql = `ALTER TABLE items ADD COLUMN c${i} TEXT DEFAULT 'x'`;
      plainTimes.push(timeMigration(plain, sql));
      crrTimes.push(timeMigration(crr, sql));
    }
    // Three columns in one migration share one crsql_begin_alter/crsql_commit_alter.
    const threeColumnsMs = timeMigration(
      crr,
      "ALTER TABLE items ADD COLUMN d1 TEXT DEFAULT 'x'; ALTER TABLE items ADD COLUMN d2 INTEGER DEFAULT 0; ALTER TABLE items ADD COLUMN d3 REAL",
    );
    const plainMs = median(plainTimes);
    const replicatedMs = median(crrTimes);
    return {
      rows,
      clockRowsBefore: clockBefore,
      // The defaults need no new clock rows: cr-sqlite skips cells equal to the column default.
      clockRowsAfter: clockRows(crr),
      setupPlainMs: Math.round(setupPlainMs),
      setupReplicatedMs: Math.round(setupReplicatedMs),
      plainMs: Math.round(plainMs * 10) / 10,
      replicatedMs: Math.round(replicatedMs),
      ratio: Math.round(replicatedMs / plainMs),
      threeColumnsOneMigrationMs: Math.round(threeColumnsMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = process.argv[2] ? Number(process.argv[2]) : undefined;
  const figures = await run(rows);
  for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(28)} ${v}`);
}
