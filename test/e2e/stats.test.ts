import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeReplica, ok, rows, run, runJson, sandbox, sql } from './sync-helpers.js';
import type { StatsResult } from '../../src/db/stats.js';

const box = sandbox('crsync-stats-');

const ROWS = 3000;
const DELETED = 120;
const REINSERTED = 20;
const BLOBS = 200;

/** A replica with deletes, re-inserts, updates, a table of big values, and a round trip through a hub. */
async function replicaWithHistory(): Promise<{ db: string; hubFile: string }> {
  const db = box.path('a.db');
  await makeReplica(db, 'create table t (id integer primary key not null, name text, qty integer)');
  await sql(db, 'create table big (id integer primary key not null, body blob)');
  expect((await run(['-d', db, 'track', 'big'])).exitCode).toBe(0);
  await sql(db, `with recursive s(i) as (select 1 union all select i + 1 from s where i < ${ROWS}) insert into t (id, name, qty) select i, 'row ' || i, i from s`);
  await sql(db, `with recursive s(i) as (select 1 union all select i + 1 from s where i < ${BLOBS}) insert into big (id, body) select i, randomblob(3000) from s`);
  await sql(db, `delete from t where id <= ${DELETED}`);
  await sql(db, `insert into t (id, name, qty) select id, 'again', 0 from (select id from t__crsql_pks where id <= ${REINSERTED})`);
  await sql(db, `update t set qty = qty + 1 where id > 2000`);
  const hub = await box.hub();
  await ok(['-d', db, 'remote', 'add', 'origin', `${hub.url}/shop`]);
  await ok(['-d', db, 'push', '--create']);
  await ok(['-d', db, 'pull']);
  return { db, hubFile: join(box.path('hub'), 'shop.db') };
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

describe('crsync stats', () => {
  it('counts rows, tombstones and clock rows as SQL sees them, and bytes that add up to the file', async () => {
    const { db } = await replicaWithHistory();
    const s = await ok<StatsResult>(['-d', db, 'stats']);
    expect(s.tables.map((t) => t.name)).toEqual(['big', 't']);
    const t = s.tables.find((x) => x.name === 't')!;
    const big = s.tables.find((x) => x.name === 'big')!;
    expect(t.rows).toBe(ROWS - DELETED + REINSERTED);
    expect(await rows(db, 'select count(*) as n from t')).toEqual([{ n: t.rows }]);
    expect(t.tombstones).toBe(DELETED - REINSERTED);
    expect(big.tombstones).toBe(0);
    // Two cells per live row, a sentinel per deleted row, and one more per re-inserted row (its causal length 3).
    expect(t.clockRows).toBe(2 * t.rows + t.tombstones + REINSERTED);
    expect(await rows(db, `select count(*) as n from crsql_changes where "table" = 't'`)).toEqual([{ n: t.clockRows }]);
    expect(big.rows).toBe(BLOBS);

    // Bytes: every table has some; the blobs alone fill their pages; the clock and key tables of
    // small rows outweigh the rows; the parts sum to the file, which is the file on disk.
    for (const x of s.tables) {
      for (const k of ['dataBytes', 'clockBytes', 'keyBytes'] as const) expect(x[k], `${x.name}.${k}`).toBeGreaterThan(0);
      expect(x.metadataBytes).toBe(x.clockBytes + x.keyBytes);
    }
    expect(big.dataBytes).toBeGreaterThanOrEqual(BLOBS * 3000);
    expect(big.dataBytes).toBeLessThan(BLOBS * 3000 * 1.5);
    expect(big.metadataBytes).toBeLessThan(big.dataBytes / 10);
    expect(t.metadataBytes).toBeGreaterThan(t.dataBytes);
    const totals = s.totals;
    expect(totals.dataBytes).toBe(big.dataBytes + t.dataBytes);
    expect(totals.metadataBytes).toBe(big.metadataBytes + t.metadataBytes);
    expect(totals.bookkeepingBytes).toBe(sum(s.bookkeeping.map((b) => b.bytes)));
    expect(totals.crsqliteBytes).toBeGreaterThan(0);
    expect(totals.otherBytes).toBeGreaterThan(0); // the schema table at least
    expect(sum(Object.values(totals))).toBe(s.file.bytes);
    expect(s.file.bytes).toBe(s.file.pages * s.file.pageSize);
    expect(s.file.walBytes).toBe(0);
    expect(s.file.bytes).toBe(statSync(db).size);

    // crsync's own tables, with their rows: a transaction log line per (version, table), the remote.
    const book = Object.fromEntries(s.bookkeeping.map((b) => [b.name, b]));
    expect(Object.keys(book)).toEqual(expect.arrayContaining(['crsync_meta', 'crsync_remotes', 'crsync_txlog', 'crsync_applied', 'crsync_conflicts', 'crsync_resolutions']));
    expect(book.crsync_remotes!.rows).toBe(1);
    expect(await rows(db, 'select count(*) as n from crsync_txlog')).toEqual([{ n: book.crsync_txlog!.rows }]);
    expect(book.crsync_txlog!.rows).toBeGreaterThanOrEqual(5);
    for (const b of s.bookkeeping) expect(b.bytes, b.name).toBeGreaterThan(0);
  }, 120_000);

  it('sees freed pages, a WAL, and a hub dataset file', async () => {
    const { db, hubFile } = await replicaWithHistory();
    await sql(db, 'drop table if exists scratch; create table scratch (x blob); insert into scratch with recursive s(i) as (select 1 union all select i + 1 from s where i < 100) select randomblob(4000) from s; drop table scratch');
    const s = await ok<StatsResult>(['-d', db, 'stats']);
    expect(s.file.freelistPages).toBeGreaterThanOrEqual(100);
    expect(s.totals.freeBytes).toBe(s.file.freelistPages * s.file.pageSize);
    expect(sum(Object.values(s.totals))).toBe(s.file.bytes);

    // Another connection holds the file open with a write still in its WAL: stats reads that state.
    const held = new Database(db);
    held.pragma('wal_autocheckpoint = 0');
    try {
      held.exec('create table plain_extra (x); insert into plain_extra values (randomblob(9000))');
      const w = await ok<StatsResult>(['-d', db, 'stats']);
      expect(w.file.walBytes).toBeGreaterThan(9000);
      expect(w.totals.otherBytes).toBeGreaterThan(s.totals.otherBytes);
      expect(sum(Object.values(w.totals))).toBe(w.file.bytes);
    } finally {
      held.close();
    }

    // The hub's file of the dataset is a replica too: the same rows, and the pushing site among its peers.
    const h = await ok<StatsResult>(['-d', hubFile, 'stats']);
    expect(h.tables.map((x) => [x.name, x.rows, x.tombstones])).toEqual(s.tables.map((x) => [x.name, x.rows, x.tombstones]));
    expect(h.bookkeeping.find((b) => b.name === 'crsync_peers')!.rows).toBe(1);
  }, 120_000);

  it('prints a table for people', async () => {
    const { db } = await replicaWithHistory();
    const r = await run(['-d', db, 'stats']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(out).toMatch(/^table +rows +tombstones +data +clock +keys +metadata\/data$/m);
    expect(out).toMatch(new RegExp(`^t +${(ROWS - DELETED + REINSERTED).toLocaleString('en-US')} +${DELETED - REINSERTED} `, 'm'));
    expect(out).toMatch(/^crsync_txlog +\d+ +[\d.]+ KiB$/m);
    expect(out).toMatch(/^where the bytes go/m);
  }, 120_000);

  it('refuses a plain SQLite file and leaves it as it was', async () => {
    const file = box.path('plain.db');
    const d = new Database(file);
    d.exec('create table t (a); insert into t values (1)');
    d.close();
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');
    const r = await runJson<{ error: { code: string; message: string } }>(['-d', file, 'stats']);
    expect(r.exitCode).toBe(1);
    expect(r.json.error.code).toBe('not_a_replica');
    expect(r.json.error.message).toContain('not a crsync replica: run crsync init');
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before);
    const human = await run(['-d', file, 'stats']);
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toContain('error: not a crsync replica: run crsync init');
    const missing = await runJson<{ error: { code: string } }>(['-d', box.path('none.db'), 'stats']);
    expect([missing.exitCode, missing.json.error.code]).toEqual([1, 'db_not_found']);
  });
});
