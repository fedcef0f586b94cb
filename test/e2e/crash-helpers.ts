import Database from 'better-sqlite3';
import { execa, type ResultPromise } from 'execa';
import { expect } from 'vitest';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { withStore } from '../../src/db/store.js';
import { START } from '../../src/sync/protocol/types.js';
import { CLI } from '../helpers.js';
import { SYNC_ENV } from './sync-helpers.js';

/** Kill rounds per command: a few in `npm test`, many with CRSYNC_CRASH_ROUNDS=<n>. */
export const ROUNDS = Math.max(1, Number(process.env.CRSYNC_CRASH_ROUNDS) || 2);

/** Test timeout for a test that repeats ROUNDS kill rounds. */
export const TIMEOUT = 40_000 + ROUNDS * 20_000;

/** The seed of this run (CRSYNC_CRASH_SEED replays one); tests print it when they fail. */
export const SEED = Number(process.env.CRSYNC_CRASH_SEED) || Math.floor(Math.random() * 2 ** 31);

/** A small seeded PRNG (mulberry32): the same seed gives the same kill points. */
export function rng(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(lo + x * (hi - lo));
  };
}

/**
 * A kill point: early rounds count from the spawn (start-up, schema, first pages), late rounds
 * from the first committed page. The spans fit ~20k changes in pages of 100 (about a second).
 */
export function killDelay(rand: (lo: number, hi: number) => number, late: boolean): number {
  return late ? rand(0, 600) : rand(250, 1300);
}

/** The built CLI with --json as a child process, to be killed. */
export function spawnCli(args: string[]): ResultPromise {
  return execa('node', [CLI, ...args, '--json'], { env: { NO_COLOR: '1', ...SYNC_ENV }, reject: false });
}

/** SIGKILLs a process after `ms`; resolves with how it ended ('killed' or its exit code). */
export async function killAfter(proc: ResultPromise, ms: number): Promise<{ killed: boolean; exitCode?: number; stdout: string }> {
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  const r = await proc;
  clearTimeout(timer);
  return { killed: r.signal === 'SIGKILL', exitCode: r.exitCode, stdout: String(r.stdout) };
}

/** Opens a file with plain SQLite (no cr-sqlite: read only what it wrote), runs fn, closes. */
export function withPlainDb<T>(file: string, fn: (db: Database.Database) => T): T {
  // Read-write, so a WAL left by a killed writer is recovered like the next crsync would.
  const db = new Database(file, { fileMustExist: true });
  db.defaultSafeIntegers(true);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** `PRAGMA integrity_check` must say ok. */
export function expectIntact(file: string): void {
  const r = withPlainDb(file, (db) => db.pragma('integrity_check', { simple: true }));
  expect(r, `integrity_check of ${file}`).toBe('ok');
}

export interface Cursor {
  version: bigint;
  seq: bigint;
}

/** Source ids encode the transaction that wrote them: row id = version * ID_STRIDE + n. */
export const ID_STRIDE = 100_000;

/**
 * A replica with table t (id, name, qty) written in `transactions` local transactions of `rows`
 * rows each (db_versions 1..transactions), seeded in-process to save CLI start-ups.
 */
export function seedSource(file: string, transactions: number, rows: number): void {
  initReplica(file);
  withStore(file, {}, (s) => {
    s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER)');
    trackTables(s, ['t']);
    const ins = s.db.prepare('INSERT INTO t (id, name, qty) VALUES (?, ?, ?)');
    for (let v = 1; v <= transactions; v++) {
      s.db.transaction(() => {
        for (let n = 0; n < rows; n++) {
          const id = v * ID_STRIDE + n;
          ins.run(id, `row ${id}`, id * 7);
        }
      })();
    }
  });
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** A cell of t (id/column/col_version) with its place in its database's stream. */
export interface ClockCell {
  cell: string;
  version: bigint;
  seq: bigint;
}

/** Cells of t in a database's clock, with their place in its stream. */
export function clockCells(db: Database.Database): ClockCell[] {
  if (!hasTable(db, 't__crsql_clock')) return [];
  return (
    db
      .prepare('SELECT p.id, c.col_name, c.col_version, c.db_version, c.seq FROM t__crsql_clock c JOIN t__crsql_pks p ON p.__crsql_key = c.key')
      .raw(true)
      .all() as [bigint, string, bigint, bigint, bigint][]
  ).map(([id, col, cv, version, seq]) => ({ cell: `${id}/${col}/${cv}`, version, seq }));
}

const upTo = (c: Cursor) => (x: { version: bigint; seq: bigint }): boolean => x.version < c.version || (x.version === c.version && x.seq <= c.seq);

/** Reads a cursor from a database (see pullCursorOf, receivedCursorOf). */
export type CursorReader = (db: Database.Database) => Cursor;

/** What a replica holds, read in one snapshot: a cursor into the source's stream, its cells and the rows of t. */
export interface HeldSnapshot {
  at: Cursor;
  cells: ClockCell[];
  rows: { id: bigint; name: string | null; qty: bigint | null }[];
}

/**
 * No half-applied page: the replica holds exactly the source's changes up to its cursor (a
 * position in the source's stream, as the replica's bookkeeping says), with the source's values.
 * Cursor and data are read in one snapshot: a hub may still be committing pages it had buffered
 * when the pusher died. The source is a file or its cells; the replica a file, or a snapshot
 * read elsewhere (which carries its own cursor: `cursor` is then ignored). Returns the cursor.
 */
export function expectPrefix(source: string | ClockCell[], replica: string | HeldSnapshot, cursor: Cursor | CursorReader | null, why: string): Cursor {
  const snap =
    typeof replica !== 'string'
      ? replica
      : withPlainDb(replica, (db) =>
          db.transaction(() => ({
            at: typeof cursor === 'function' ? cursor(db) : cursor!,
            cells: clockCells(db),
            rows: (!hasTable(db, 't') ? [] : db.prepare('SELECT id, name, qty FROM t').all()) as HeldSnapshot['rows'],
          }))(),
        );
  const want = (typeof source === 'string' ? withPlainDb(source, clockCells) : source).filter(upTo(snap.at)).map((x) => x.cell).sort();
  const have = snap.cells.map((x) => x.cell).sort();
  expect(have.length, `${why}: changes in the replica vs the source up to ${snap.at.version}/${snap.at.seq}`).toBe(want.length);
  expect(have, why).toEqual(want);
  for (const r of snap.rows) {
    if (r.name !== null) expect(r.name, why).toBe(`row ${r.id}`);
    if (r.qty !== null) expect(r.qty, why).toBe(r.id * 7n);
  }
  return snap.at;
}

/** A row count of t. */
export function countRows(file: string): number {
  return Number(withPlainDb(file, (db) => db.prepare('SELECT count(*) FROM t').pluck().get() as bigint));
}

/** The pull cursor for a remote (a position in the remote's stream). */
export const pullCursorOf = (remote = 'origin'): CursorReader => (db) =>
  db.prepare('SELECT pull_version AS version, pull_seq AS seq FROM crsync_remotes WHERE name = ?').get(remote) as Cursor;

/** How far a replica has committed a peer's pushes (a position in the pusher's stream). */
export const receivedCursorOf = (site: Buffer): CursorReader => (db) =>
  (db.prepare('SELECT recv_version AS version, recv_seq AS seq FROM crsync_peers WHERE site_id = ?').get(site) as Cursor | undefined) ?? { ...START };

/** receivedCursorOf, read from a file. */
export function receivedCursor(file: string, site: Buffer): Cursor {
  return withPlainDb(file, receivedCursorOf(site));
}

/** A replica's site id. */
export function siteOf(file: string): Buffer {
  return withPlainDb(file, (db) => db.prepare('SELECT site_id FROM crsql_site_id WHERE ordinal = 0').pluck().get() as Buffer);
}
