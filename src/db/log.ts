import { siteId, type Db } from './store.js';
import { txlogPrunedBelow } from './txlog.js';

/** One transaction of the replica, as `crsync log --json` shows it. */
export interface LogEntry {
  dbVersion: bigint;
  /** When it committed (ISO 8601); null for one older than the transaction log, written locally. */
  at: string | null;
  /** The site that wrote it (hex): this replica's for a local write, the writer's for a merge. */
  siteId: string | null;
  /** 'local', or the remote it was merged from (a hub's merges: the pushing site's id). */
  source: string;
  /** Rows written per table. */
  tables: Record<string, number>;
}

/** Which transactions `crsync log` lists. */
export interface LogOptions {
  limit: number;
  /** Only transactions that wrote this table. */
  table?: string;
  /** Only transactions after this db_version. */
  since?: bigint;
}

interface Source {
  source: string;
  site: string | null;
  at: string | null;
}

/**
 * Transactions, newest first, from crsync_txlog (every transaction, also those whose changes were
 * overwritten since; see src/db/txlog.ts). A merged transaction's source is the run of merges in
 * crsync_applied that holds its version. Versions older than the log (a replica from before it)
 * are read from crsql_changes, where only those with a visible change remain.
 */
export function readLog(db: Db, opts: LogOptions): LogEntry[] {
  const local = siteId(db).toString('hex');
  const since = opts.since ?? 0n;
  const tableFilter = opts.table === undefined ? '' : 'AND db_version IN (SELECT db_version FROM crsync_txlog WHERE tbl = ?)';
  const versions = db
    .prepare(`SELECT DISTINCT db_version FROM crsync_txlog WHERE db_version > ? ${tableFilter} ORDER BY db_version DESC LIMIT ?`)
    .pluck()
    .safeIntegers(true)
    .all(...(opts.table === undefined ? [since, opts.limit] : [since, opts.table, opts.limit])) as bigint[];
  const rowsOf = db.prepare('SELECT tbl, changes, at FROM crsync_txlog WHERE db_version = ? ORDER BY tbl').safeIntegers(true);
  const sourceOf = sources(db, local);
  const entries = versions.map((v): LogEntry => {
    const rows = rowsOf.all(v) as { tbl: string; changes: bigint; at: string }[];
    const src = sourceOf(v);
    return { dbVersion: v, at: src.at ?? rows[0]?.at ?? null, siteId: src.site, source: src.source, tables: Object.fromEntries(rows.map((r) => [r.tbl, Number(r.changes)])) };
  });
  // Below a pruned log, crsql_changes would show only some of the transactions pruned: none are listed.
  if (entries.length < opts.limit && txlogPrunedBelow(db) === null) entries.push(...olderThanLog(db, opts, entries.length, sourceOf));
  return entries;
}

/** Names a version's source and writer: a merge run holding it, else a local write. */
function sources(db: Db, local: string): (v: bigint) => Source {
  const run = db
    .prepare('SELECT peer_site, remote, at FROM crsync_applied WHERE db_version <= ? AND last_version >= ? ORDER BY db_version DESC LIMIT 1')
    .safeIntegers(true);
  const writer = db.prepare('SELECT site_id FROM crsql_changes WHERE db_version = ? LIMIT 1').pluck();
  return (v) => {
    const r = run.get(v, v) as { peer_site: Buffer | null; remote: string | null; at: string } | undefined;
    if (!r) return { source: 'local', site: local, at: null };
    const site = (writer.get(v) as Buffer | undefined) ?? r.peer_site;
    return { source: r.remote ?? (r.peer_site ? r.peer_site.toString('hex') : 'peer'), site: site ? site.toString('hex') : null, at: null };
  };
}

/** Transactions below the first one the log recorded, as far as crsql_changes still shows them. */
function olderThanLog(db: Db, opts: LogOptions, have: number, sourceOf: (v: bigint) => Source): LogEntry[] {
  const first = db.prepare('SELECT min(db_version) FROM crsync_txlog').pluck().safeIntegers(true).get() as bigint | null;
  const below = first ?? 2n ** 62n;
  const since = opts.since ?? 0n;
  if (below <= since + 1n) return [];
  const rows = db
    .prepare(
      `SELECT db_version, "table", count(*) FROM crsql_changes WHERE db_version > ? AND db_version < ?
       GROUP BY db_version, "table" ORDER BY db_version DESC`,
    )
    .raw(true)
    .safeIntegers(true)
    .all(since, below) as [bigint, string, bigint][];
  const byVersion = new Map<bigint, Record<string, number>>();
  for (const [v, t, n] of rows) {
    const tables = byVersion.get(v) ?? {};
    tables[t] = Number(n);
    byVersion.set(v, tables);
  }
  const out: LogEntry[] = [];
  for (const [v, tables] of byVersion) {
    if (out.length + have >= opts.limit) break;
    if (opts.table !== undefined && !(opts.table in tables)) continue;
    const src = sourceOf(v);
    out.push({ dbVersion: v, at: src.at, siteId: src.site, source: src.source, tables });
  }
  return out;
}
