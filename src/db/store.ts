import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CrsyncError } from '../errors.js';
import { extensionPath } from './extension.js';
import { ensureBookkeeping } from './state/bookkeeping.js';
import { stmt } from './statements.js';

export type Db = Database.Database;
/** A prepared statement taking positional parameters. */
export type Statement = Database.Statement<unknown[]>;

/** Options for opening a replica file. */
export interface OpenStoreOptions {
  /** Create the file when it does not exist (only `init` and `clone` do). */
  create?: boolean;
  /** Open without writing anything, bookkeeping included (doctor, export). */
  readonly?: boolean;
  /**
   * Only look (status, log, conflicts, sql, doctor): refuse a file crsync has not initialised
   * (`not_a_replica`) before anything touches it, so it stays byte for byte as it was.
   */
  inspect?: boolean;
  /** Override of the extension path (tests); defaults to extensionPath(). */
  extension?: string;
}

/** An open replica: one SQLite file with cr-sqlite loaded and crsync's bookkeeping tables. */
export interface Store {
  readonly db: Db;
  readonly path: string;
  /** True when this call created the file. */
  readonly created: boolean;
  close(): void;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Throws unless `path` is absent, empty, or starts with the SQLite header. Reads 16 bytes only. */
export function assertSqliteFile(path: string): 'missing' | 'empty' | 'sqlite' {
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  if (!st.isFile()) {
    throw new CrsyncError('not_a_database', `${path} is not a file`, {
      hint: 'pass the path of a SQLite database file with --db',
    });
  }
  if (st.size === 0) return 'empty';
  const head = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_HEADER)) {
    throw new CrsyncError('not_a_database', `${path} is not a SQLite database (left untouched)`, {
      hint: 'check the --db path (or CRSYNC_DB); crsync only opens SQLite files',
    });
  }
  return 'sqlite';
}

/** Loads cr-sqlite into a connection, with an actionable error when the build is missing. */
export function loadExtension(db: Db, path = extensionPath()): void {
  try {
    db.loadExtension(path);
  } catch (err) {
    throw new CrsyncError('extension_load_failed', `cannot load cr-sqlite from ${path}: ${(err as Error).message}`, {
      hint: 'run `npm run build:crsqlite` in the crsync folder (or set CRSYNC_CRSQLITE_PATH)',
      cause: err,
    });
  }
}

/** The error of a command that only looks, on a file crsync has not initialised. */
export function notAReplica(path: string): CrsyncError {
  return new CrsyncError('not_a_replica', `not a crsync replica: run crsync init (${path})`, {
    hint: `\`crsync init -d ${path}\` makes it one (existing tables stay; \`crsync track <table>\` replicates them)`,
  });
}

/**
 * True when crsync initialised the file (its bookkeeping exists). Looks through a read-only
 * connection without the extension: loading cr-sqlite on a plain file would add its tables.
 */
export function isReplica(path: string): boolean {
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return false;
  }
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crsync_meta'").pluck().get() === 1;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** Opens a replica: extension loaded, WAL, synchronous=NORMAL, busy timeout, bookkeeping ensured. */
export function openStore(dbPath: string, options: OpenStoreOptions = {}): Store {
  const path = resolve(dbPath);
  const state = assertSqliteFile(path);
  if (options.inspect && state !== 'missing' && (state === 'empty' || !isReplica(path))) throw notAReplica(path);
  if (state === 'missing' && !options.create) {
    throw new CrsyncError('db_not_found', `no database at ${path}`, {
      hint: 'run `crsync init` to create it, or point --db (or CRSYNC_DB) at an existing replica',
    });
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly === true, fileMustExist: !options.create });
  } catch (err) {
    throw new CrsyncError('db_open_failed', `cannot open ${path}: ${(err as Error).message}`, {
      hint: 'check that the file is readable (and writable) and not locked by another program',
      cause: err,
    });
  }
  try {
    // A file that only claims to be SQLite fails here, before anything is written.
    db.pragma('schema_version');
    db.pragma('busy_timeout = 5000');
    loadExtension(db, options.extension);
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      ensureBookkeeping(db);
    }
  } catch (err) {
    db.close();
    if (err instanceof CrsyncError) throw err;
    throw new CrsyncError('not_a_database', `${path} is not a usable SQLite database: ${(err as Error).message}`, {
      hint: 'check the --db path; the file may be corrupt or encrypted',
      cause: err,
    });
  }
  let closed = false;
  const inode = statSync(path).ino;
  return {
    db,
    path,
    created: state !== 'sqlite',
    close() {
      if (closed) return;
      closed = true;
      if (!options.readonly) flushWalIfMoved(db, path, inode);
      closeDb(db);
    },
  };
}

/**
 * A connection whose path now names another file, or none (the file was deleted, replaced or
 * renamed under it), empties its WAL into the file it has open before it closes. SQLite leaves the
 * WAL of a moved file behind when it closes, and the next opener of that path — the new file, or
 * one created there later — would replay the old file's frames into it: a corrupt database. The
 * checkpoint writes only to the file this connection has open (so a file renamed away keeps its
 * last commits). Best effort: a reader of the old file in the way leaves the WAL as it is.
 */
function flushWalIfMoved(db: Db, path: string, inode: number): void {
  let now: number | undefined;
  try {
    now = statSync(path).ino;
  } catch {
    now = undefined;
  }
  if (now === inode || !db.open) return;
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // closing matters more; the WAL stays as SQLite leaves it
  }
}

/** Finalizes cr-sqlite (required before close) and closes the connection. */
export function closeDb(db: Db): void {
  if (!db.open) return;
  try {
    db.prepare('SELECT crsql_finalize()').run();
  } finally {
    db.close();
  }
}

/** Runs `fn` with an open store and always closes it. */
export function withStore<T>(dbPath: string, options: OpenStoreOptions, fn: (store: Store) => T): T {
  const store = openStore(dbPath, options);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** Async variant of withStore. */
export async function withStoreAsync<T>(
  dbPath: string,
  options: OpenStoreOptions,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  const store = openStore(dbPath, options);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/** Quotes an SQL identifier. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** This replica's site id (16 bytes). */
export function siteId(db: Db): Buffer {
  return stmt(db, 'SELECT crsql_site_id()', { pluck: true }).get() as Buffer;
}

/** This replica's current db_version. */
export function dbVersion(db: Db): bigint {
  return stmt(db, 'SELECT crsql_db_version()', { pluck: true, safeIntegers: true }).get() as bigint;
}
