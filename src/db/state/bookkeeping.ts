import type Database from 'better-sqlite3';

/**
 * crsync's own tables live in the replica file itself (prefix crsync_), so one file is the whole
 * replica. None of them is replicated. Bump BOOKKEEPING_VERSION when a table changes shape.
 */
export const BOOKKEEPING_VERSION = 2;

const DDL = `
CREATE TABLE IF NOT EXISTS crsync_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value
);
-- Remotes this replica pushes to and pulls from. Cursors are positions (db_version, seq) in a
-- change stream: pull_* in the remote's stream, push_* in ours (what the remote acknowledged).
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
  conflicts_pulled INTEGER NOT NULL DEFAULT 0
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
-- One row per merge transaction: which local db_version holds changes delivered by which peer.
CREATE TABLE IF NOT EXISTS crsync_applied (
  db_version INTEGER PRIMARY KEY NOT NULL,
  peer_site BLOB,
  remote TEXT,
  changes INTEGER NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crsync_applied_peer ON crsync_applied (peer_site, db_version);
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
  reported_by BLOB
);
CREATE INDEX IF NOT EXISTS crsync_conflicts_cell ON crsync_conflicts (tbl, pk, cid);
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

/** Columns added after version 1: conflict delivery cursors (remotes) and who already knows (conflicts). */
function upgradeBookkeeping(db: Database.Database): void {
  const has = (table: string, col: string): boolean =>
    db.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, col) !== undefined;
  if (!has('crsync_remotes', 'conflicts_reported')) {
    db.exec('ALTER TABLE crsync_remotes ADD COLUMN conflicts_reported INTEGER NOT NULL DEFAULT 0');
    db.exec('ALTER TABLE crsync_remotes ADD COLUMN conflicts_pulled INTEGER NOT NULL DEFAULT 0');
  }
  if (!has('crsync_conflicts', 'reported_by')) db.exec('ALTER TABLE crsync_conflicts ADD COLUMN reported_by BLOB');
}

/** Reads a crsync_meta value. */
export function getMeta(db: Database.Database, key: string): unknown {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crsync_meta'").get();
  if (!exists) return undefined;
  return db.prepare('SELECT value FROM crsync_meta WHERE key = ?').pluck().get(key);
}

/** Writes a crsync_meta value. */
export function setMeta(db: Database.Database, key: string, value: unknown): void {
  db.prepare('INSERT OR REPLACE INTO crsync_meta (key, value) VALUES (?, ?)').run(key, value);
}

/** True for crsync's own tables and cr-sqlite's internal tables. */
export function isInternalTable(name: string): boolean {
  return name.startsWith('crsync_') || name.startsWith('crsql_') || name.includes('__crsql_') || name.startsWith('sqlite_');
}
