import { dbVersion, siteId, type Db } from './store.js';

/** One transaction of the replica, as `crsync log` shows it. */
export interface LogEntry {
  dbVersion: bigint;
  /** True for a local write; false for a merge of changes delivered by a peer. */
  ours: boolean;
  /** Sites that wrote the changes (hex), this replica's own first. */
  sites: string[];
  /** For a merge: the remote it came from (null when a peer pushed to us, e.g. on a hub). */
  remote: string | null;
  /** For a merge: the site that delivered it (hex). */
  deliveredBy: string | null;
  /** For a merge: when it was applied. Local writes carry no time in cr-sqlite's clocks. */
  at: string | null;
  tables: string[];
  /** Changes of this version still visible in crsql_changes (later writes replace earlier ones). */
  changes: number;
}

/** Result of `crsync log`. */
export interface LogResult {
  siteId: string;
  dbVersion: bigint;
  entries: LogEntry[];
}

interface Group {
  tables: Set<string>;
  sites: Set<string>;
  changes: number;
}

/**
 * The most recent transactions, newest first. cr-sqlite keeps the latest write of each cell
 * only, so a version whose every cell was overwritten since has nothing left to show and is
 * skipped. Reads a window of recent versions and widens it until `limit` are found, so the cost
 * follows what is shown rather than the size of the history.
 */
export function readLog(db: Db, limit: number): LogResult {
  const local = siteId(db).toString('hex');
  const current = dbVersion(db);
  const read = db
    .prepare('SELECT db_version, "table", site_id FROM crsql_changes WHERE db_version > ?')
    .raw(true)
    .safeIntegers(true);
  let groups = new Map<bigint, Group>();
  let window = BigInt(Math.max(limit, 16));
  for (;;) {
    const from = current - window;
    groups = new Map();
    for (const [v, table, site] of read.iterate(from < 0n ? -1n : from) as Iterable<[bigint, string, Buffer]>) {
      let g = groups.get(v);
      if (!g) groups.set(v, (g = { tables: new Set(), sites: new Set(), changes: 0 }));
      g.tables.add(table);
      g.sites.add(site.toString('hex'));
      g.changes++;
    }
    if (groups.size >= limit || from <= 0n) break;
    window *= 4n;
  }
  const applied = db.prepare('SELECT peer_site, remote, at FROM crsync_applied WHERE db_version = ?').safeIntegers(true);
  const versions = [...groups.keys()].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)).slice(0, limit);
  const entries = versions.map((v): LogEntry => {
    const g = groups.get(v)!;
    const merge = applied.get(v) as { peer_site: Buffer | null; remote: string | null; at: string } | undefined;
    const sites = [...g.sites].sort((a, b) => (a === local ? -1 : b === local ? 1 : a < b ? -1 : 1));
    return {
      dbVersion: v,
      ours: !merge,
      sites,
      remote: merge?.remote ?? null,
      deliveredBy: merge?.peer_site ? merge.peer_site.toString('hex') : null,
      at: merge?.at ?? null,
      tables: [...g.tables].sort(),
      changes: g.changes,
    };
  });
  return { siteId: local, dbVersion: current, entries };
}
