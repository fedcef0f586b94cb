// Datasets of the small-operation, health, incremental and blob cases. Hub files that take long to
// build are built once and kept under bench/out/ (git-ignored), named by what they hold; delete
// the folder to rebuild them. Each is built the honest way: a replica seeded locally, then pushed
// to a real hub, so its changes carry the pusher's site id, as a hub's data does.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CITIES_SQL, insertCities } from './cities.mjs';
import { closeDb, crsync, emptyReplica, openDb, outDir, runCrsync, startHub } from './lib.mjs';

/** 8 replicated columns besides the key: one row is 8 changes. */
export const WIDE_SQL =
  'CREATE TABLE wide (id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER, c REAL, d TEXT, e INTEGER, f TEXT, g REAL, h TEXT)';
export const WIDE_CHANGES_PER_ROW = 8;

function wideRow(i) {
  return [i, `name ${i}`, i % 1000, i / 3 + 0.25, `d${i % 89}`, i * 7, i % 5 === 0 ? null : `f ${i % 31}`, i / 11, `h${i}`];
}

/** Pushes a seeded replica to a new dataset on a temporary hub and keeps the hub's file at `dest`. */
async function pushToNewHub(dir, seed, dataset, dest) {
  const hubDir = join(dir, `build-hub-${dataset}`);
  const hub = await startHub(hubDir);
  try {
    crsync('-d', seed, 'remote', 'add', 'origin', `${hub.url}/${dataset}`);
    await runCrsync(['-d', seed, 'push', '--create']);
  } finally {
    // Closing finalizes the dataset and checkpoints its WAL into the file.
    await hub.stop();
  }
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(hubDir, `${dataset}.db`), `${dest}.tmp`);
  renameSync(`${dest}.tmp`, dest);
  rmSync(hubDir, { recursive: true, force: true });
  rmSync(seed, { force: true });
}

/**
 * The hub file of a `wide` dataset of `changes` changes (changes / 8 rows, seeded in transactions
 * of 10,000 rows like the other synthetic data), cached as bench/out/wide-<changes>.db.
 */
export async function wideHubFile(ctx, changes) {
  const rows = Math.max(1, Math.round(changes / WIDE_CHANGES_PER_ROW));
  const dest = join(outDir, `wide-${rows * WIDE_CHANGES_PER_ROW}.db`);
  if (existsSync(dest)) return { file: dest, rows, changes: rows * WIDE_CHANGES_PER_ROW };
  ctx.log(`  building ${dest} (${rows.toLocaleString('en-US')} rows; kept for later runs)`);
  const seed = join(ctx.dir, `wide-seed-${rows}.db`);
  emptyReplica(seed, WIDE_SQL, ['wide']);
  const db = openDb(seed);
  const ins = db.prepare('INSERT INTO wide VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const batch = db.transaction((a, b) => {
    for (let i = a; i < b; i++) ins.run(...wideRow(i));
  });
  for (let i = 0; i < rows; i += 10_000) batch(i, Math.min(rows, i + 10_000));
  closeDb(db);
  await pushToNewHub(ctx.dir, seed, 'wide', dest);
  return { file: dest, rows, changes: rows * WIDE_CHANGES_PER_ROW };
}

/** A replica of the 171k cities, `copies` times over (ids offset by the count per copy). */
export function seedCities(path, copies = 1) {
  emptyReplica(path, CITIES_SQL, ['cities']);
  const db = openDb(path);
  let rows = 0;
  for (let k = 0; k < copies; k++) rows += insertCities(db, rows);
  closeDb(db);
  return rows;
}

/**
 * The hub file of the 171k cities (pushed from a seeded replica), cached as bench/out/cities-hub.db;
 * with `copies` > 1, that many copies side by side (bench/out/cities-x<copies>-hub.db).
 */
export async function citiesHubFile(ctx, copies = 1) {
  const dest = join(outDir, copies === 1 ? 'cities-hub.db' : `cities-x${copies}-hub.db`);
  if (existsSync(dest)) return dest;
  ctx.log(`  building ${dest} (kept for later runs)`);
  const seed = join(ctx.dir, `cities-seed-${copies}.db`);
  seedCities(seed, copies);
  await pushToNewHub(ctx.dir, seed, 'cities', dest);
  return dest;
}

/** Puts a copy of a cached hub file into a new hub folder as dataset `name` (a fresh hub each run). */
export function hubDirWith(dir, file, name) {
  const hubDir = join(dir, `hub-${name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(hubDir, { recursive: true });
  copyFileSync(file, join(hubDir, `${name}.db`));
  return hubDir;
}

export const BLOBS_SQL = 'CREATE TABLE blobs (id INTEGER PRIMARY KEY NOT NULL, name TEXT, data BLOB)';

/** A replica of `rows` random blobs of `bytes` each (random: gzip cannot shrink them). */
export function seedBlobs(path, rows, bytes) {
  emptyReplica(path, BLOBS_SQL, ['blobs']);
  const db = openDb(path);
  const ins = db.prepare('INSERT INTO blobs VALUES (?, ?, ?)');
  const batch = db.transaction((a, b) => {
    for (let i = a; i < b; i++) ins.run(i, `blob ${i}`, randomBytes(bytes));
  });
  for (let i = 0; i < rows; i += 100) batch(i, Math.min(rows, i + 100));
  closeDb(db);
}
