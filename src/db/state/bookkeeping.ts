import type Database from 'better-sqlite3';
import { stmt } from '../statements.js';

/**
 * crsync's own tables live in the replica file itself (prefix crsync_), so one file is the whole
 * replica. None of them is replicated. Bump BOOKKEEPING_VERSION when a table changes shape.
 */
export const BOOKKEEPING_VERSION = 4;

/** Merge records as runs (version 3 on); also what compactMergeRecords rebuilds the table as. */
const APPLIED_TABLE = `CREATE TABLE IF NOT EXISTS crsync_applied (
  db_version INTEGER PRIMARY KEY NOT NULL,
  peer_site BLOB,
  remote TEXT,
  changes INTEGER NOT NULL,
  at TEXT NOT NULL,
  last_version INTEGER NOT NULL
);`;

const DDL = `
CREATE TABLE IF NOT EXISTS crsync_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value
);
-- Remotes this replica pushes to and pulls from. Cursors are positions (db_version, seq) in a
-- change stream: pull_* in the remote's stream, push_* in ours (what the remote acknowledged).
-- The DEFAULTs 0 / -1 of the cursor columns here and in crsync_peers are START (sync/protocol/types.ts).
CREATE TABLE IF NOT EXISTS crsync_remotes (
  name TEXT PRIMARY KEY NOT NULL,
  url TEXT NOT NULL,
  token_env TEXT NOT NULL DEFAULT 'CRSYNC_TOKEN',
  remote_site BLOB,
  pull_version INTEGER NOT NULL DEFAULT 0,
  pull_seq INTEGER NOT NULL DEFAULT -1,
  push_version INTEGER NOT NULL DEFAULT 0,
  push_seq INTEGER NOT NULL DEFAULT -1,
  last_pull TEXT,
  last_push TEXT,
  added_at TEXT NOT NULL,
  conflicts_reported INTEGER NOT NULL DEFAULT 0,
  conflicts_pulled INTEGER NOT NULL DEFAULT 0,
  resolutions_reported INTEGER NOT NULL DEFAULT 0,
  resolutions_pulled INTEGER NOT NULL DEFAULT 0
);
-- Sites that push to this replica (a hub's clients, or a peer file's writer):
-- recv_* is how far in the peer's stream we have committed (push resumes there);
-- seen_version is how far in our stream the peer has told us it has pulled.
CREATE TABLE IF NOT EXISTS crsync_peers (
  site_id BLOB PRIMARY KEY NOT NULL,
  recv_version INTEGER NOT NULL DEFAULT 0,
  recv_seq INTEGER NOT NULL DEFAULT -1,
  seen_version INTEGER NOT NULL DEFAULT 0,
  last_seen TEXT
);
-- Which local db_versions hold changes delivered by which peer: one row per run of merges from
-- one peer with no other write in between, db_version (first) to last_version (src/db/changes/delivered.ts).
${APPLIED_TABLE}
-- Concurrent edits that lost a merge. ours/theirs hold crsync JSON (exact types).
CREATE TABLE IF NOT EXISTS crsync_conflicts (
  id INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL,
  pk BLOB NOT NULL,
  cid TEXT,
  kind TEXT NOT NULL,
  ours TEXT,
  theirs TEXT,
  winner TEXT NOT NULL,
  ours_site BLOB,
  theirs_site BLOB,
  ours_col_version INTEGER,
  theirs_col_version INTEGER,
  remote TEXT,
  detected_at TEXT NOT NULL,
  resolved_at TEXT,
  resolution TEXT,
  reported_by BLOB,
  resolved_by BLOB
);
CREATE INDEX IF NOT EXISTS crsync_conflicts_cell ON crsync_conflicts (tbl, pk, cid);
-- Resolutions made here or heard of (src/db/conflicts/resolutions.ts): a conflict named by its
-- pair of writes, orientation-free (a_* the lesser; sites empty for delete_update, named by its
-- causal lengths), one row per resolving site. from_site: the peer that delivered it (NULL: made here).
CREATE TABLE IF NOT EXISTS crsync_resolutions (
  id INTEGER PRIMARY KEY,
  tbl TEXT NOT NULL,
  pk BLOB NOT NULL,
  cid TEXT NOT NULL,
  kind TEXT NOT NULL,
  a_site BLOB NOT NULL,
  a_version INTEGER NOT NULL,
  b_site BLOB NOT NULL,
  b_version INTEGER NOT NULL,
  choice TEXT NOT NULL,
  value TEXT NOT NULL,
  resolver BLOB NOT NULL,
  written_version INTEGER,
  at TEXT NOT NULL,
  from_site BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS crsync_resolutions_pair
  ON crsync_resolutions (tbl, pk, cid, kind, a_site, a_version, b_site, b_version, resolver);
-- Every transaction that wrote replicated rows, local or merged, by any program with cr-sqlite
-- loaded: rows written per table, recorded by triggers as it commits (src/db/txlog.ts).
CREATE TABLE IF NOT EXISTS crsync_txlog (
  db_version INTEGER NOT NULL,
  tbl TEXT NOT NULL,
  changes INTEGER NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (db_version, tbl)
) WITHOUT ROWID;
-- Finding the same pair of writes again (ConflictStore.record) in indexed time, however many
-- conflicts one cell collects.
CREATE INDEX IF NOT EXISTS crsync_conflicts_pair ON crsync_conflicts (tbl, pk, cid, ours_col_version, theirs_col_version);
-- Migrations applied to the replicated schema (crsync migrate, or propagated from a remote).
CREATE TABLE IF NOT EXISTS crsync_migrations (
  version INTEGER PRIMARY KEY NOT NULL,
  hash TEXT NOT NULL,
  sql TEXT NOT NULL,
  source TEXT NOT NULL,
  applied_at TEXT NOT NULL
);
`;

/** Creates crsync's bookkeeping tables when missing. Idempotent and cheap. */
export function ensureBookkeeping(db: Database.Database): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crsync_meta'").get();
  if (exists && Number(getMeta(db, 'bookkeeping_version')) === BOOKKEEPING_VERSION) return;
  db.transaction(() => {
    db.exec(DDL);
    upgradeBookkeeping(db);
    db.prepare("INSERT OR REPLACE INTO crsync_meta (key, value) VALUES ('bookkeeping_version', ?)").run(
      BOOKKEEPING_VERSION,
    );
    db.prepare("INSERT OR IGNORE INTO crsync_meta (key, value) VALUES ('created_at', ?)").run(
      new Date().toISOString(),
    );
  })();
}

/**
 * Columns added after version 1: conflict delivery cursors (remotes) and who already knows
 * (conflicts); version 3: merge records as runs (last_version), indexed by peer and run end;
 * version 4: resolution cursors (remotes) and resolvers (conflicts); the transaction log.
 */
function upgradeBookkeeping(db: Database.Database): void {
  const has = (table: string, col: string): boolean =>
    db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, col) !== undefined;
  if (!has('crsync_remotes', 'conflicts_reported')) {
    db.exec('ALTER TABLE crsync_remotes ADD COLUMN conflicts_reported INTEGER NOT NULL DEFAULT 0');
    db.exec('ALTER TABLE crsync_remotes ADD COLUMN conflicts_pulled INTEGER NOT NULL DEFAULT 0');
  }
  if (!has('crsync_conflicts', 'reported_by')) db.exec('ALTER TABLE crsync_conflicts ADD COLUMN reported_by BLOB');
  // Version 4: resolutions travel (their delivery cursors, and who resolved a conflict).
  if (!has('crsync_remotes', 'resolutions_reported')) {
    db.exec('ALTER TABLE crsync_remotes ADD COLUMN resolutions_reported INTEGER NOT NULL DEFAULT 0');
    db.exec('ALTER TABLE crsync_remotes ADD COLUMN resolutions_pulled INTEGER NOT NULL DEFAULT 0');
  }
  if (!has('crsync_conflicts', 'resolved_by')) db.exec('ALTER TABLE crsync_conflicts ADD COLUMN resolved_by BLOB');
  if (!has('crsync_applied', 'last_version')) compactMergeRecords(db);
  db.exec('DROP INDEX IF EXISTS crsync_applied_peer');
  db.exec('CREATE INDEX IF NOT EXISTS crsync_applied_run ON crsync_applied (peer_site, last_version)');
}

/**
 * Version 2 kept one row per merge transaction: fold consecutive rows of one peer (and remote)
 * whose versions follow each other with nothing in between into one run. A local write takes a
 * version number of its own, so two merges with adjacent numbers had nothing between them.
 */
function compactMergeRecords(db: Database.Database): void {
  db.exec(`
    CREATE TEMP TABLE crsync_applied_runs AS
    WITH marked AS (
      SELECT db_version, peer_site, remote, changes, at,
        CASE WHEN lag(peer_site) OVER w IS peer_site AND lag(remote) OVER w IS remote AND lag(db_version) OVER w = db_version - 1
          THEN 0 ELSE 1 END AS starts
      FROM crsync_applied WINDOW w AS (ORDER BY db_version)
    ), grouped AS (
      SELECT *, sum(starts) OVER (ORDER BY db_version) AS run FROM marked
    )
    SELECT min(db_version) AS db_version, peer_site, remote, sum(changes) AS changes, max(at) AS at, max(db_version) AS last_version
    FROM grouped GROUP BY run;
    DROP TABLE crsync_applied;
    ${APPLIED_TABLE}
    INSERT INTO crsync_applied SELECT db_version, peer_site, remote, changes, at, last_version FROM crsync_applied_runs;
    DROP TABLE crsync_applied_runs;
  `);
}

/** Reads a crsync_meta value. */
export function getMeta(db: Database.Database, key: string): unknown {
  const exists = stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crsync_meta'").get();
  if (!exists) return undefined;
  return stmt(db, 'SELECT value FROM crsync_meta WHERE key = ?', { pluck: true }).get(key);
}

/** Writes a crsync_meta value. */
export function setMeta(db: Database.Database, key: string, value: unknown): void {
  stmt(db, 'INSERT OR REPLACE INTO crsync_meta (key, value) VALUES (?, ?)').run(key, value);
}

/** True for crsync's own tables and cr-sqlite's internal tables. */
export function isInternalTable(name: string): boolean {
  return name.startsWith('crsync_') || name.startsWith('crsql_') || name.includes('__crsql_') || name.startsWith('sqlite_');
}
