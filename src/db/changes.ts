import type Database from 'better-sqlite3';
import { CrsyncError, ExitCode } from '../errors.js';
import { isAfter, type Change, type Cursor, type Page } from '../sync/protocol.js';
import type { Db } from './store.js';
import { listReplicatedTables, tableColumns } from './schema.js';
import { ConflictDetector, type DetectedConflict } from './conflict-detect.js';

const READ_SQL =
  'SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes ' +
  'WHERE db_version >= ? ORDER BY db_version, seq';

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
 * Streams the changes after `since` in pages of at most `pageSize`, in (db_version, seq) order.
 * Iterates one statement: the connection must not be used for anything else until it is done.
 * Every page's cursor is the position of its last change, also when filtered changes follow.
 */
export function* readPages(db: Db, since: Cursor, pageSize: number, filter: StreamFilter = {}): Generator<Page> {
  const stmt = db.prepare(READ_SQL).raw(true).safeIntegers(true);
  const exSite = filter.excludeSite ? Buffer.from(filter.excludeSite) : undefined;
  const exVersions = filter.excludeVersions;
  let changes: Change[] = [];
  let cursor: Cursor = since;
  for (const row of stmt.iterate(since.version) as Iterable<Change>) {
    const version = row[5];
    const seq = row[8];
    if (!isAfter(since, version, seq)) continue;
    cursor = { version, seq };
    if (exSite && exSite.equals(row[6])) continue;
    if (exVersions && exVersions.has(version)) continue;
    changes.push(row);
    if (changes.length >= pageSize) {
      yield { changes, cursor };
      changes = [];
    }
  }
  if (changes.length > 0 || cursor !== since) yield { changes, cursor };
}

/** Number of changes after a cursor that a stream with this filter would carry. */
export function countChangesAfter(db: Db, since: Cursor, filter: StreamFilter = {}): { total: number; byTable: Record<string, number> } {
  const stmt = db
    .prepare('SELECT "table", db_version, seq, site_id FROM crsql_changes WHERE db_version >= ?')
    .raw(true)
    .safeIntegers(true);
  const exSite = filter.excludeSite ? Buffer.from(filter.excludeSite) : undefined;
  const byTable: Record<string, number> = {};
  let total = 0;
  for (const [table, version, seq, site] of stmt.iterate(since.version) as Iterable<[string, bigint, bigint, Buffer]>) {
    if (!isAfter(since, version, seq)) continue;
    if (exSite && exSite.equals(site)) continue;
    if (filter.excludeVersions?.has(version)) continue;
    byTable[table] = (byTable[table] ?? 0) + 1;
    total++;
  }
  return { total, byTable };
}

/** Who delivered a page and what they are known to have seen (for conflict detection). */
export interface ApplyContext {
  /** Site of the peer that delivered the changes. */
  peerSite: Uint8Array;
  /** Remote name on a client; null on a hub. */
  remote: string | null;
  /** True when the peer had seen the local change written at this local db_version. */
  knownToPeer: (dbVersion: bigint) => boolean;
  /** Record conflicts (off for a clone into an empty replica). */
  detectConflicts: boolean;
}

/** Result of applying one page. */
export interface ApplyResult {
  received: number;
  /** The local db_version the merge got, or null when nothing changed. */
  dbVersion: bigint | null;
  conflicts: DetectedConflict[];
}

/**
 * Applies pages of changes from one peer: each page is one transaction together with whatever
 * `commit` writes (the cursor), so a crash leaves either the whole page and its cursor or neither.
 */
export class ChangeApplier {
  private readonly insert: Database.Statement;
  private readonly nextVersion: Database.Statement;
  private readonly impacted: Database.Statement;
  private readonly recordApplied: Database.Statement;
  private readonly columns = new Map<string, Set<string>>();
  private readonly detector: ConflictDetector;

  constructor(
    private readonly db: Db,
    private readonly ctx: ApplyContext,
  ) {
    this.insert = db.prepare(
      'INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.nextVersion = db.prepare('SELECT crsql_next_db_version()').pluck().safeIntegers(true);
    this.impacted = db.prepare('SELECT crsql_rows_impacted()').pluck().safeIntegers(true);
    this.recordApplied = db.prepare(
      'INSERT OR REPLACE INTO crsync_applied (db_version, peer_site, remote, changes, at) VALUES (?, ?, ?, ?, ?)',
    );
    this.refreshSchema();
    this.detector = new ConflictDetector(db, ctx);
  }

  /** Re-reads the replicated tables (after a migration). */
  refreshSchema(): void {
    this.columns.clear();
    for (const t of listReplicatedTables(this.db)) {
      this.columns.set(t, new Set(tableColumns(this.db, t).map((c) => c.name)));
    }
  }

  private validate(changes: Change[]): void {
    for (const c of changes) {
      const cols = this.columns.get(c[0]);
      if (!cols) {
        throw new CrsyncError('unknown_table', `changes name table ${c[0]}, which is not replicated here`, {
          exitCode: ExitCode.schemaMismatch,
          hint: 'the two replicas have different schemas; compare them with `crsync status` and `crsync doctor`',
        });
      }
      if (c[2] !== '-1' && !cols.has(c[2])) {
        throw new CrsyncError('unknown_column', `changes name column ${c[0]}.${c[2]}, which does not exist here`, {
          exitCode: ExitCode.schemaMismatch,
          hint: 'the two replicas have different schemas; run `crsync migrate` or sync the schema first',
        });
      }
    }
  }

  /** Applies one page and runs `commit` in the same transaction. */
  apply(changes: Change[], commit?: (dbVersion: bigint | null) => void): ApplyResult {
    this.validate(changes);
    return this.db.transaction((): ApplyResult => {
      const candidates = this.ctx.detectConflicts ? this.detector.inspect(changes) : [];
      let seq = 0n;
      for (const c of changes) {
        // seq is renumbered so (db_version, seq) stays unique in this replica's own stream.
        this.insert.run(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], seq++);
      }
      const impacted = changes.length > 0 ? (this.impacted.get() as bigint) : 0n;
      let version: bigint | null = null;
      if (impacted > 0n) {
        version = this.nextVersion.get() as bigint;
        this.recordApplied.run(version, this.ctx.peerSite, this.ctx.remote, changes.length, new Date().toISOString());
      }
      const conflicts = candidates.length > 0 ? this.detector.settle(candidates) : [];
      commit?.(version);
      return { received: changes.length, dbVersion: version, conflicts };
    })();
  }
}
