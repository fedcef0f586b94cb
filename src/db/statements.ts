import type Database from 'better-sqlite3';

type Db = Database.Database;

/** How a cached statement returns rows; fixed when it is prepared (callers never change it). */
export interface StatementMode {
  /** First column only (`.pluck()`). */
  pluck?: boolean;
  /** Rows as arrays (`.raw()`). */
  raw?: boolean;
  /** Integers as bigint (`.safeIntegers()`). */
  safeIntegers?: boolean;
}

/** Per connection: its statements by mode and SQL text. Dies with the connection object. */
const caches = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The statement for `sql` on this connection, prepared on first use and the same object every
 * later call: a hub runs the same few statements on every request. SQLite re-prepares it by
 * itself after a schema change. Invariants: callers never change its mode (pass it here), and
 * never use it for an `iterate()` that outlives the call (a statement runs one query at a time).
 * Only for SQL text from a small fixed set (never values spliced in): the cache is never trimmed.
 */
export function stmt(db: Db, sql: string, mode: StatementMode = {}): Database.Statement {
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  const key = `${mode.pluck ? 'p' : mode.raw ? 'r' : '-'}${mode.safeIntegers ? 'i' : '-'}${sql}`;
  let s = cache.get(key);
  if (!s) {
    s = db.prepare(sql);
    if (mode.pluck) s.pluck(true);
    else if (mode.raw) s.raw(true);
    if (mode.safeIntegers) s.safeIntegers(true);
    cache.set(key, s);
  }
  return s;
}

/** The schema cookie (`PRAGMA schema_version`): it changes with every schema change, from any connection. */
export function schemaCookie(db: Db): number {
  return stmt(db, 'PRAGMA schema_version', { pluck: true }).get() as number;
}
