import type Database from 'better-sqlite3';
import type { Change } from '../../sync/protocol/types.js';
import { quoteIdent, type Db } from '../store.js';
import { listReplicatedTables, tableColumns } from '../schema/read.js';
import { ConflictDetector, type DetectedConflict } from '../conflicts/detect.js';
import { boundDbVersions } from './clock-check.js';
import { badChange, validateChanges, type TableShape } from './validate.js';
import { stmt } from '../statements.js';
import { upgradeTxlogTriggers, withoutTxlogTriggers } from '../txlog.js';

export { countChangesAfter, readPages, type StreamFilter } from './stream.js';

/** Who delivered a page and what they are known to have seen (for conflict detection). */
export interface ApplyContext {
  /** Site of the peer that delivered the changes. */
  peerSite: Uint8Array;
  /** Remote name on a client; null on a hub. */
  remote: string | null;
  /** True when the peer had seen the local change written at this local db_version. */
  knownToPeer: (dbVersion: bigint) => boolean;
  /** On a hub: the pushing site, which hears of the conflicts in the push response. */
  reportedBy?: Uint8Array;
}

/** Result of applying one page. */
export interface ApplyResult {
  received: number;
  /** The local db_versions the merge produced (inclusive; null when nothing changed). */
  versions: { first: bigint; last: bigint } | null;
  conflicts: DetectedConflict[];
}

/**
 * Applies pages of changes from one peer: each page is one transaction together with whatever
 * `commit` writes (the cursor), so a crash leaves either the whole page and its cursor or neither.
 */
export class ChangeApplier {
  private readonly insert: Database.Statement;
  private readonly currentVersion: Database.Statement;
  private readonly mergedVersions = new Map<string, Database.Statement>();
  private readonly impacted: Database.Statement;
  private readonly newestRecord: Database.Statement;
  private readonly extendRecord: Database.Statement;
  private readonly recordApplied: Database.Statement;
  private readonly clearTxlog: Database.Statement;
  private readonly logMerge: Database.Statement;
  private readonly columns = new Map<string, TableShape>();
  private readonly detector: ConflictDetector;

  constructor(
    private readonly db: Db,
    private readonly ctx: ApplyContext,
  ) {
    // Merges fire cr-sqlite's triggers, so SQLite keeps statement journals: in memory they cost
    // far less than temp files. (Reader connections keep file-backed temp space for big sorts.)
    db.pragma('temp_store = MEMORY');
    this.insert = stmt(db, 'INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.currentVersion = stmt(db, 'SELECT crsql_db_version()', { pluck: true, safeIntegers: true });
    this.impacted = stmt(db, 'SELECT crsql_rows_impacted()', { pluck: true, safeIntegers: true });
    this.newestRecord = stmt(db, 'SELECT db_version, last_version, peer_site, remote FROM crsync_applied ORDER BY db_version DESC LIMIT 1', { safeIntegers: true });
    this.extendRecord = stmt(db, 'UPDATE crsync_applied SET last_version = ?, changes = changes + ?, at = ? WHERE db_version = ?');
    this.recordApplied = stmt(db, 'INSERT OR REPLACE INTO crsync_applied (db_version, last_version, peer_site, remote, changes, at) VALUES (?, ?, ?, ?, ?, ?)');
    // The txlog triggers skip these merges (withoutTxlogTriggers): a merge is logged as the rows it changed.
    upgradeTxlogTriggers(db);
    this.clearTxlog = stmt(db, 'DELETE FROM crsync_txlog WHERE db_version > ?');
    this.logMerge = stmt(db, 'INSERT OR REPLACE INTO crsync_txlog (db_version, tbl, changes, at) VALUES (?, ?, ?, ?)');
    this.refreshSchema();
    this.detector = new ConflictDetector(db, ctx);
  }

  /** Re-reads the replicated tables (after a migration). */
  refreshSchema(): void {
    this.columns.clear();
    this.mergedVersions.clear();
    for (const t of listReplicatedTables(this.db)) {
      const cols = tableColumns(this.db, t);
      this.columns.set(t, { names: new Set(cols.map((c) => c.name)), pkCount: cols.filter((c) => c.pk > 0).length });
    }
  }

  /**
   * Refuses a page that names tables or columns we lack (schema mismatch) or that no peer could
   * have produced: cr-sqlite trusts what it merges, so malformed keys or clocks stop here.
   */
  private validate(changes: Change[]): void {
    validateChanges(changes, this.columns);
    // Only after every check: a refused page leaves its changes as they came.
    boundDbVersions(changes, this.currentVersion.get() as bigint);
  }

  /**
   * The local versions a merge produced, recorded as delivered by the peer. A merge takes
   * max(next local version, the incoming change's db_version) for each change, so one page can
   * produce several; inside the merge's transaction every version above `before` is this
   * merge's, and so are the unused numbers between them. Read from the clock tables'
   * db_version index: the crsql_changes view would read every value too.
   */
  private recordMergedVersions(before: bigint, changes: Change[]): { first: bigint; last: bigint } | null {
    let first: bigint | null = null;
    let last = 0n;
    let total = 0n;
    const rowsOf = new Map<string, bigint>();
    for (const table of new Set(changes.map((c) => c[0]))) {
      let stmt = this.mergedVersions.get(table);
      if (!stmt) {
        stmt = this.db
          .prepare(`SELECT min(db_version), max(db_version), count(*), count(DISTINCT key) FROM ${quoteIdent(`${table}__crsql_clock`)} WHERE db_version > ?`)
          .raw(true)
          .safeIntegers(true);
        this.mergedVersions.set(table, stmt);
      }
      const [lo, hi, n, rows] = stmt.get(before) as [bigint | null, bigint | null, bigint, bigint];
      if (lo === null || hi === null) continue;
      rowsOf.set(table, rows);
      if (first === null || lo < first) first = lo;
      if (hi > last) last = hi;
      total += n;
    }
    if (first === null) return null;
    const at = new Date().toISOString();
    const newest = this.newestRecord.get() as { db_version: bigint; last_version: bigint; peer_site: Buffer | null; remote: string | null } | undefined;
    // The newest run is this peer's and nothing was written since: the run goes on.
    const continues =
      newest !== undefined &&
      newest.last_version === before &&
      newest.remote === this.ctx.remote &&
      newest.peer_site !== null &&
      Buffer.from(this.ctx.peerSite).equals(newest.peer_site);
    if (continues) this.extendRecord.run(last, total, at, newest.db_version);
    else this.recordApplied.run(first, last, this.ctx.peerSite, this.ctx.remote, total, at);
    this.clearTxlog.run(before);
    for (const [table, rows] of rowsOf) this.logMerge.run(first, table, rows, at);
    return { first, last };
  }

  /** Applies one page and runs `commit` (with the local versions it produced) in the same transaction. */
  apply(changes: Change[], commit?: (versions: { first: bigint; last: bigint } | null, before: bigint) => void): ApplyResult {
    this.validate(changes);
    // Immediate: the write lock is taken before `before` is read, so no other connection can
    // commit in between (and a deferred upgrade cannot fail on a stale snapshot).
    return this.db.transaction((): ApplyResult => {
      const before = this.currentVersion.get() as bigint;
      const candidates = this.detector.inspect(changes);
      withoutTxlogTriggers(this.db, () => {
        let seq = 0n;
        for (const c of changes) {
          // seq is renumbered so (db_version, seq) stays unique in this replica's own stream.
          try {
            this.insert.run(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], seq++);
          } catch (err) {
            // The merge refused the change itself (the transaction rolls back: nothing of the page stays).
            if (/^SQLITE_(ERROR|MISMATCH|RANGE|CONSTRAINT|TOOBIG)/.test(String((err as { code?: string }).code))) throw badChange(c, (err as Error).message);
            throw err;
          }
        }
      });
      const impacted = changes.length > 0 ? (this.impacted.get() as bigint) : 0n;
      const versions = impacted > 0n ? this.recordMergedVersions(before, changes) : null;
      const conflicts = candidates.length > 0 ? this.detector.settle(candidates) : [];
      commit?.(versions, before);
      return { received: changes.length, versions, conflicts };
    }).immediate();
  }
}
