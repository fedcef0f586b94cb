import { existsSync, statSync } from 'node:fs';
import { CrsyncError } from '../errors.js';
import { listReplicatedTables } from './schema/read.js';
import { openStore, quoteIdent, type Db } from './store.js';

/** One replicated table: its rows and what it costs, split into data and cr-sqlite's metadata. */
export interface TableStats {
  name: string;
  rows: number;
  /** Deleted rows cr-sqlite still tracks (a row sentinel with an even causal length). */
  tombstones: number;
  /** Rows of the clock table: one per cell and per row sentinel cr-sqlite keeps a version of. */
  clockRows: number;
  /** The table and its own indexes. */
  dataBytes: number;
  /** `<t>__crsql_clock` and its indexes. */
  clockBytes: number;
  /** `<t>__crsql_pks` (a key for every row ever written, deleted ones too) and its index. */
  keyBytes: number;
  /** clockBytes + keyBytes. */
  metadataBytes: number;
}

/** One of crsync's own tables (merge records, conflicts, resolutions, txlog...), indexes included. */
export interface BookkeepingStats {
  name: string;
  rows: number;
  bytes: number;
}

/** Result of `crsync stats`. Every size is whole pages as SQLite's dbstat table counts them. */
export interface StatsResult {
  db: string;
  file: {
    pageSize: number;
    /** Pages of the database as a reader sees it (the WAL's newer pages included). */
    pages: number;
    freelistPages: number;
    /** pageSize × pages. */
    bytes: number;
    /** The write-ahead log on disk beside the file (0 when there is none). */
    walBytes: number;
  };
  tables: TableStats[];
  bookkeeping: BookkeepingStats[];
  /**
   * Where the file's bytes go. The parts sum to file.bytes, but for pages SQLite keeps for itself
   * (the lock-byte page of a file over 1 GiB, auto-vacuum's pointer maps).
   */
  totals: {
    dataBytes: number;
    metadataBytes: number;
    bookkeepingBytes: number;
    /** cr-sqlite's shared tables: site ids, tracked peers, its own schema records. */
    crsqliteBytes: number;
    /** The schema table, tables that are not replicated, and anything else SQLite keeps. */
    otherBytes: number;
    freeBytes: number;
  };
}

/** Bytes per table, each table's indexes counted with it (dbstat reports them by index name). */
function bytesByTable(db: Db): Map<string, number> {
  const owner = new Map<string, string>();
  for (const r of db.prepare("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')").all() as { name: string; tbl_name: string }[]) {
    owner.set(r.name, r.tbl_name);
  }
  let rows: { name: string; bytes: number }[];
  try {
    // aggregate = 1: one row per b-tree instead of one per page.
    rows = db.prepare('SELECT name, pgsize AS bytes FROM dbstat WHERE aggregate = 1').all() as { name: string; bytes: number }[];
  } catch (err) {
    throw new CrsyncError('sql_error', `cannot measure the file: ${(err as Error).message}`, {
      hint: 'crsync stats needs SQLite built with SQLITE_ENABLE_DBSTAT_VTAB (better-sqlite3 has it); check CRSYNC_CRSQLITE_PATH and the better-sqlite3 build',
      cause: err,
    });
  }
  const bytes = new Map<string, number>();
  for (const r of rows) {
    const table = owner.get(r.name) ?? r.name;
    bytes.set(table, (bytes.get(table) ?? 0) + r.bytes);
  }
  return bytes;
}

function count(db: Db, sql: string): number {
  return Number(db.prepare(sql).pluck().get());
}

function tableStats(db: Db, name: string, bytes: Map<string, number>): TableStats {
  const clock = `${name}__crsql_clock`;
  const keys = `${name}__crsql_pks`;
  const clockBytes = bytes.get(clock) ?? 0;
  const keyBytes = bytes.get(keys) ?? 0;
  return {
    name,
    rows: count(db, `SELECT count(*) FROM ${quoteIdent(name)}`),
    tombstones: count(db, `SELECT count(*) FROM ${quoteIdent(clock)} WHERE col_name = '-1' AND col_version % 2 = 0`),
    clockRows: count(db, `SELECT count(*) FROM ${quoteIdent(clock)}`),
    dataBytes: bytes.get(name) ?? 0,
    clockBytes,
    keyBytes,
    metadataBytes: clockBytes + keyBytes,
  };
}

function walBytes(path: string): number {
  const wal = `${path}-wal`;
  return existsSync(wal) ? statSync(wal).size : 0;
}

/**
 * What a replica's file is made of: per replicated table rows, tombstones, data and metadata
 * bytes; crsync's bookkeeping per table; the file's pages. Opens read-only and refuses a file
 * crsync has not initialised, so it never writes.
 */
export function replicaStats(dbPath: string): StatsResult {
  const store = openStore(dbPath, { readonly: true, inspect: true });
  try {
    const { db } = store;
    // One read transaction: every figure is of the same state, however busy the writers are.
    return db.transaction(() => {
      const bytes = bytesByTable(db);
      const replicated = listReplicatedTables(db);
      const tables = replicated.map((t) => tableStats(db, t, bytes));
      const names = [...bytes.keys()].sort();
      const bookkeeping = names
        .filter((n) => n.startsWith('crsync_'))
        .map((name) => ({ name, rows: count(db, `SELECT count(*) FROM ${quoteIdent(name)}`), bytes: bytes.get(name) ?? 0 }));
      const pageSize = Number(db.pragma('page_size', { simple: true }));
      const pages = Number(db.pragma('page_count', { simple: true }));
      const freelistPages = Number(db.pragma('freelist_count', { simple: true }));
      const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
      const counted = new Set([...replicated.flatMap((t) => [t, `${t}__crsql_clock`, `${t}__crsql_pks`]), ...names.filter((n) => n.startsWith('crsync_') || n.startsWith('crsql_'))]);
      const totals = {
        dataBytes: sum(tables.map((t) => t.dataBytes)),
        metadataBytes: sum(tables.map((t) => t.metadataBytes)),
        bookkeepingBytes: sum(bookkeeping.map((b) => b.bytes)),
        crsqliteBytes: sum(names.filter((n) => n.startsWith('crsql_')).map((n) => bytes.get(n) ?? 0)),
        otherBytes: sum(names.filter((n) => !counted.has(n)).map((n) => bytes.get(n) ?? 0)),
        freeBytes: freelistPages * pageSize,
      };
      return {
        db: store.path,
        file: { pageSize, pages, freelistPages, bytes: pageSize * pages, walBytes: walBytes(store.path) },
        tables,
        bookkeeping,
        totals,
      };
    })();
  } finally {
    store.close();
  }
}
