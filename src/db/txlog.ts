import { listReplicatedTables } from './schema/read.js';
import { quoteIdent, type Db } from './store.js';
import { stmt } from './statements.js';

/*
 * The transaction log: cr-sqlite keeps only the latest write of each cell, so a version whose
 * cells were all overwritten leaves no trace in crsql_changes. crsync records every transaction
 * as it commits instead: an AFTER trigger per replicated table and operation adds one to
 * crsync_txlog (db_version, table) for each row written, keyed by crsql_next_db_version(), the
 * version the open transaction will commit as. Triggers run in SQLite itself, so writes by any
 * program with cr-sqlite loaded are recorded, and merges too (all rows of one merge under its
 * first version; src/db/log.ts names their source from crsync_applied).
 *
 * crsync's own merges (ChangeApplier) log themselves, one row per table and merge, so the
 * triggers skip them: a merge runs with cr-sqlite's sync bit set, and crsync marks its merge
 * transactions with a crsync_meta row (MERGING) that never outlives them. Firing the trigger
 * body for each merged cell, only to replace what it wrote, cost ~13% of a merge's
 * instructions (1,000 changes: 96M instructions against 83M without triggers, 88M with the
 * skip). A merge by another program still fires the triggers.
 */

const OPS = [
  ['ins', 'INSERT'],
  ['upd', 'UPDATE'],
  ['del', 'DELETE'],
] as const;

/** The time a transaction wrote its first row, as crsync writes times elsewhere (ISO 8601, UTC, ms). */
const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** The crsync_meta key that marks a merge transaction of crsync's own (see above). */
const MERGING = 'txlog_merging';

function triggerName(table: string, op: string): string {
  return `crsync_txlog_${table}_${op}`;
}

/**
 * Installs the recording triggers of one replicated table (idempotent). An UPDATE of the
 * transaction's row, and an INSERT only when it found none (changes() inside a trigger counts
 * its own last statement): half the cost of an upsert, which builds the new row and its time
 * for every row written (in memory, +6% CPU on a 100k-row insert instead of +13%).
 * A local write passes the WHEN at its first term (no lookup); crsync's merges stop at the second.
 */
export function installTxlogTriggers(db: Db, table: string): void {
  const lit = `'${table.replace(/'/g, "''")}'`;
  for (const [short, op] of OPS) {
    db.exec(
      `CREATE TRIGGER IF NOT EXISTS ${quoteIdent(triggerName(table, short))} AFTER ${op} ON ${quoteIdent(table)}
       WHEN crsql_internal_sync_bit() = 0 OR NOT EXISTS (SELECT 1 FROM crsync_meta WHERE key = '${MERGING}') BEGIN
         UPDATE crsync_txlog SET changes = changes + 1 WHERE db_version = crsql_next_db_version() AND tbl = ${lit};
         INSERT INTO crsync_txlog (db_version, tbl, changes, at) SELECT crsql_next_db_version(), ${lit}, 1, ${NOW} WHERE changes() = 0;
       END`,
    );
  }
}

/**
 * Installs the triggers on every replicated table that lacks them: after track, a schema
 * carried from a remote (new tables), and a migration (a table re-created keeps none).
 */
export function ensureTxlogTriggers(db: Db): void {
  const have = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'crsync_txlog_%'").pluck().all() as string[]);
  for (const t of listReplicatedTables(db)) {
    if (OPS.every(([short]) => have.has(triggerName(t, short)))) continue;
    installTxlogTriggers(db, t);
  }
}

/**
 * Re-installs recording triggers of an older form (they fired on crsync's own merges too).
 * One look at sqlite_master when they are current; called where merges start (ChangeApplier).
 */
export function upgradeTxlogTriggers(db: Db): void {
  const old = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'crsync\\_txlog\\_%' ESCAPE '\\' AND sql NOT LIKE '%${MERGING}%'`)
    .pluck()
    .all() as string[];
  if (old.length === 0) return;
  db.transaction(() => {
    for (const name of old) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(name)}`);
    ensureTxlogTriggers(db);
  })();
}

/**
 * Runs `merge` (one of crsync's merges) with the triggers skipping it; the caller logs the
 * merge itself. Only inside a transaction: the mark is written and removed in it, and a merge
 * that throws rolls the mark back with everything else.
 */
export function withoutTxlogTriggers<T>(db: Db, merge: () => T): T {
  stmt(db, 'INSERT OR REPLACE INTO crsync_meta (key, value) VALUES (?, 1)').run(MERGING);
  const out = merge();
  stmt(db, 'DELETE FROM crsync_meta WHERE key = ?').run(MERGING);
  return out;
}

/**
 * Rows of the log (one per table a transaction wrote) a replica keeps unless crsync_meta says
 * otherwise: as many as the merge records that name merged transactions' sources.
 */
export const DEFAULT_TXLOG_KEEP = 10_000;

/** Most log rows one prune deletes: a long history drains over several syncs, none of them slow. */
const TXLOG_PRUNE_BATCH = 5_000;

/** crsync_meta keys: the retention (a positive whole number of rows), and the first version still logged after a prune. */
const KEEP_KEY = 'txlog_keep';
const PRUNED_KEY = 'txlog_pruned_below';

/** The log's retention: crsync_meta txlog_keep when it holds a positive whole number, else the default. */
export function txlogKeep(db: Db): number {
  const v = Number(stmt(db, 'SELECT value FROM crsync_meta WHERE key = ?', { pluck: true }).get(KEEP_KEY));
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_TXLOG_KEEP;
}

/**
 * Bounds the transaction log of a long-lived replica: keeps its newest `keep` rows and deletes
 * at most TXLOG_PRUNE_BATCH older ones, remembering below which version the log was pruned
 * (crsync log says so). Called where merge records are pruned, once per pull, push or pushed-to
 * hub push. Sync never reads the log, so this loses only history. Cost with nothing to delete:
 * a walk of at most `keep` primary-key entries.
 */
export function pruneTxlog(db: Db, keep = txlogKeep(db)): void {
  const cut = stmt(db, 'SELECT db_version FROM crsync_txlog ORDER BY db_version DESC LIMIT 1 OFFSET ?', { pluck: true, safeIntegers: true }).get(keep) as bigint | undefined;
  if (cut === undefined) return;
  db.transaction(() => {
    const last = stmt(
      db,
      `DELETE FROM crsync_txlog WHERE db_version IN (SELECT db_version FROM crsync_txlog WHERE db_version <= ? ORDER BY db_version LIMIT ${TXLOG_PRUNE_BATCH}) RETURNING db_version`,
      { pluck: true, safeIntegers: true },
    ).all(cut) as bigint[];
    if (last.length === 0) return;
    const below = last.reduce((a, b) => (b > a ? b : a)) + 1n;
    stmt(db, 'INSERT INTO crsync_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)').run(PRUNED_KEY, below);
  })();
}

/** The first version the log still holds after a prune, or null when it was never pruned. */
export function txlogPrunedBelow(db: Db): bigint | null {
  const v = stmt(db, 'SELECT value FROM crsync_meta WHERE key = ?', { pluck: true, safeIntegers: true }).get(PRUNED_KEY) as bigint | number | null | undefined;
  return v === undefined || v === null ? null : BigInt(v);
}
