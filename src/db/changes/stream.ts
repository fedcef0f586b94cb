import { END_OF_VERSION, isAfter, type Change, type Cursor, type Page } from '../../sync/protocol/types.js';
import { quoteIdent, type Db } from '../store.js';
import { listReplicatedTables } from '../schema/read.js';

const COLUMNS = '"table", pk, cid, val, col_version, db_version, site_id, cl, seq';

/** What to leave out of a change stream sent to a peer: what it wrote, and what it delivered. */
export interface StreamFilter {
  /** The receiving peer's site: its own writes are never echoed back. */
  excludeSite?: Uint8Array;
  /** Local db_versions that the receiving peer delivered (crsync_applied). */
  excludeVersions?: Set<bigint>;
}

/** Local db_versions holding changes delivered by a peer site. */
export function versionsAppliedFrom(db: Db, peerSite: Uint8Array): Set<bigint> {
  const rows = db
    .prepare('SELECT db_version FROM crsync_applied WHERE peer_site = ?')
    .pluck()
    .safeIntegers(true)
    .all(peerSite) as bigint[];
  return new Set(rows);
}

/**
 * The statements of a stream after `since`: the rest of the cursor's own version, then every later
 * version. cr-sqlite's changes table takes `db_version = ? AND seq > ?`, `db_version > ?` and
 * `site_id IS NOT ?` as index constraints, so neither the part of a version already sent nor the
 * receiver's own writes are read at all (a plain `db_version >= ?` re-reads the whole version).
 */
function streamQueries(columns: string, since: Cursor, filter: StreamFilter): { sql: string; args: unknown[] }[] {
  const site = filter.excludeSite ? Buffer.from(filter.excludeSite) : undefined;
  const bySite = site ? ' AND site_id IS NOT ?' : '';
  const tail = site ? [site] : [];
  const queries = [];
  if (since.seq !== END_OF_VERSION && since.version > 0n) {
    queries.push({ sql: `SELECT ${columns} FROM crsql_changes WHERE db_version = ? AND seq > ?${bySite} ORDER BY seq`, args: [since.version, since.seq, ...tail] });
  }
  queries.push({ sql: `SELECT ${columns} FROM crsql_changes WHERE db_version > ?${bySite} ORDER BY db_version, seq`, args: [since.version, ...tail] });
  return queries;
}

/** The newest db_version in the replicated tables (0 when empty): read from the clock indexes. */
function newestVersion(db: Db): bigint {
  let max = 0n;
  for (const t of listReplicatedTables(db)) {
    const v = db.prepare(`SELECT max(db_version) FROM ${quoteIdent(`${t}__crsql_clock`)}`).pluck().safeIntegers(true).get() as bigint | null;
    if (v !== null && v > max) max = v;
  }
  return max;
}

/** Runs `body` in one read transaction (one snapshot), unless the connection is already in one. */
function* inSnapshot<T>(db: Db, body: () => Generator<T>): Generator<T> {
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN');
  try {
    yield* body();
  } finally {
    if (own && db.inTransaction) db.exec('COMMIT');
  }
}

/**
 * Streams the changes after `since` in pages of at most `pageSize`, in (db_version, seq) order,
 * from one snapshot. The connection must not be used for anything else until it is done.
 * Every page's cursor is the position of its last change, also when filtered changes follow.
 * A long run of changes filtered by version yields short (even empty) pages, so the reader never
 * goes long without yielding and a cut transfer resumes past what it already scanned. The last
 * page's cursor stands at the end of the snapshot's newest version, so the next stream starts
 * after everything this one has looked at, sent or not.
 */
export function readPages(db: Db, since: Cursor, pageSize: number, filter: StreamFilter = {}): Generator<Page> {
  return inSnapshot(db, function* () {
    const exVersions = filter.excludeVersions;
    const scanLimit = Math.max(pageSize * 4, 1000);
    let changes: Change[] = [];
    let cursor: Cursor = since;
    let yielded: Cursor = since;
    let scanned = 0;
    for (const q of streamQueries(COLUMNS, since, filter)) {
      for (const row of db.prepare(q.sql).raw(true).safeIntegers(true).iterate(...q.args) as Iterable<Change>) {
        const version = row[5];
        cursor = { version, seq: row[8] };
        scanned++;
        if (!(exVersions && exVersions.has(version))) changes.push(row);
        if (changes.length >= pageSize || scanned >= scanLimit) {
          yield { changes, cursor };
          yielded = cursor;
          changes = [];
          scanned = 0;
        }
      }
    }
    const newest = newestVersion(db);
    if (newest > 0n && isAfter(cursor, newest, END_OF_VERSION)) cursor = { version: newest, seq: END_OF_VERSION };
    if (changes.length > 0 || cursor !== yielded) yield { changes, cursor };
  });
}

/** Number of changes after a cursor that a stream with this filter would carry. */
export function countChangesAfter(db: Db, since: Cursor, filter: StreamFilter = {}): { total: number; byTable: Record<string, number> } {
  const byTable: Record<string, number> = {};
  let total = 0;
  for (const q of streamQueries('"table", db_version', since, filter)) {
    for (const [table, version] of db.prepare(q.sql).raw(true).safeIntegers(true).iterate(...q.args) as Iterable<[string, bigint]>) {
      if (filter.excludeVersions?.has(version)) continue;
      byTable[table] = (byTable[table] ?? 0) + 1;
      total++;
    }
  }
  return { total, byTable };
}
