import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { CrsyncError } from '../errors.js';
import { tableExists } from './schema/read.js';
import { quoteIdent, type Db } from './store.js';

/**
 * A snapshot is a plain copy of a replica's file, taken in one read (VACUUM INTO or the backup
 * API), that a new replica adopts instead of merging every change. These functions work on the
 * copy with plain SQLite (no extension loaded): cr-sqlite reads its site id once, when it loads,
 * and the clock tables carry no triggers, so they can be rewritten safely before that.
 */

/** Where a snapshot stands: the site that wrote it and the newest db_version it holds. */
export interface SnapshotPosition {
  site: Buffer;
  /** The source's stream position at the snapshot: every change up to this version is in it. */
  version: bigint;
  /** Clock rows (changes) the snapshot holds. */
  changes: number;
}

/**
 * Bookkeeping that belongs to the source alone: who pushed to it, which of its versions they
 * delivered, conflicts recorded for its writers, its own remotes, cr-sqlite's peer tracking.
 * Schema version, migrations and meta keys stay.
 */
const PRIVATE_TABLES = ['crsync_peers', 'crsync_applied', 'crsync_conflicts', 'crsync_remotes', 'crsql_tracked_peers'];

/** Copies a live replica into `dest` in one read transaction (the file must not exist). */
export function vacuumInto(db: Db, dest: string): void {
  db.prepare('VACUUM INTO ?').run(dest);
}

/** The clock tables of a replica file (read with plain SQLite). */
export function clockTables(db: Database.Database): string[] {
  return db.prepare(String.raw`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%\_\_crsql\_clock' ESCAPE '\'`).pluck().all() as string[];
}

function readPosition(db: Database.Database): SnapshotPosition {
  if (!tableExists(db, 'crsql_site_id')) throw corrupt('it has no cr-sqlite site id');
  const site = db.prepare('SELECT site_id FROM crsql_site_id WHERE ordinal = 0').pluck().get() as Buffer | undefined;
  if (!site || site.length !== 16) throw corrupt('it has no local site id');
  let version = 0n;
  let changes = 0;
  for (const t of clockTables(db)) {
    const r = db.prepare(`SELECT max(db_version), count(*) FROM ${quoteIdent(t)}`).raw(true).safeIntegers(true).get() as [bigint | null, bigint];
    if (r[0] !== null && r[0] > version) version = r[0];
    changes += Number(r[1]);
  }
  return { site, version, changes };
}

function corrupt(why: string): CrsyncError {
  return new CrsyncError('snapshot_corrupt', `the snapshot is not a usable replica: ${why}`, { hint: 'run the clone again, or clone with --no-snapshot' });
}

/**
 * Opens a snapshot file. A copy being made into a replica (`scratch`) is written with no journal
 * and no syncs: it is not in place yet, and whatever fails or is killed while it is worked on is
 * removed, never opened again (the one sync that matters comes with the first real replica
 * connection's checkpoint, before the copy is renamed into place). A rewrite of every clock row
 * then costs no journal of the old pages, on disk or in memory.
 */
function openCopy(path: string, mode: 'readonly' | 'scratch' | 'live'): Database.Database {
  try {
    const db = new Database(path, { fileMustExist: true, readonly: mode === 'readonly' });
    db.pragma('schema_version');
    if (mode === 'scratch') {
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
    }
    return db;
  } catch (err) {
    throw corrupt((err as Error).message);
  }
}

/**
 * Forgets the source's history of the file (when it was made, a clone in progress): a copy that
 * becomes a replica of its own keeps the rest of crsync_meta (schema and bookkeeping versions).
 */
export function forgetSourceMeta(db: Database.Database): void {
  db.prepare("DELETE FROM crsync_meta WHERE key IN ('initialized_at', 'created_at', 'clone_pending')").run();
}

function dropPrivate(db: Database.Database): void {
  for (const t of PRIVATE_TABLES) if (tableExists(db, t)) db.exec(`DELETE FROM ${t}`);
}

/** The source's side: strips what belongs to the source only and reads the snapshot's position. */
export function sealSnapshot(path: string): SnapshotPosition {
  const db = openCopy(path, 'scratch');
  try {
    return db.transaction(() => {
      dropPrivate(db);
      return readPosition(db);
    })();
  } finally {
    db.close();
  }
}

/** The position of a snapshot file, read only (a receiver checks it against what it was told). */
export function snapshotPosition(path: string): SnapshotPosition {
  const db = openCopy(path, 'readonly');
  try {
    return readPosition(db);
  } finally {
    db.close();
  }
}

/**
 * The receiver's side: gives a snapshot of `expected.site`'s replica a new identity. The new site
 * id takes ordinal 0 (cr-sqlite's "local"), the source's id moves to a new ordinal, and every
 * clock row the source wrote as its own (ordinal 0) is re-attributed to it, so values,
 * col_versions, causal lengths and writers are what a change-by-change clone has. Returns the
 * new site id and the changes it holds; the version must be what the source announced.
 */
export function adoptSnapshot(path: string, expected: { site: Buffer; version: bigint }): { site: Buffer; changes: number } {
  const db = openCopy(path, 'scratch');
  try {
    return db.transaction(() => {
      const pos = readPosition(db);
      if (!pos.site.equals(expected.site)) throw corrupt(`it was written by site ${pos.site.toString('hex')}, not ${expected.site.toString('hex')}`);
      if (pos.version !== expected.version) throw corrupt(`it holds version ${pos.version}, not the announced ${expected.version}`);
      dropPrivate(db);
      const site = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
      const ordinal = (db.prepare('SELECT max(ordinal) + 1 FROM crsql_site_id').pluck().get() as number) ?? 1;
      db.prepare('UPDATE crsql_site_id SET ordinal = ? WHERE ordinal = 0').run(ordinal);
      db.prepare('INSERT INTO crsql_site_id (site_id, ordinal) VALUES (?, 0)').run(site);
      for (const t of clockTables(db)) db.prepare(`UPDATE ${quoteIdent(t)} SET site_id = ? WHERE site_id = 0`).run(ordinal);
      forgetSourceMeta(db);
      return { site, changes: pos.changes };
    })();
  } finally {
    db.close();
  }
}

/**
 * Copies a replica file into `dest` with SQLite's backup API (a peer file's snapshot). The backup
 * restarts by itself when another connection writes meanwhile, so the copy is one consistent state.
 */
export async function backupInto(source: string, dest: string, signal?: AbortSignal): Promise<void> {
  const db = openCopy(source, 'readonly');
  try {
    await db.backup(dest, {
      progress: () => {
        signal?.throwIfAborted();
        return 1024;
      },
    });
  } finally {
    db.close();
  }
}

/**
 * Copies the replica at `source` into `dest` through a connection of its own, without the
 * extension (VACUUM INTO only reads; it runs in one read transaction, so writes that commit
 * meanwhile are not in the copy), then strips the source's bookkeeping of other sites.
 */
export function copyReplica(source: string, dest: string): SnapshotPosition {
  const db = openCopy(source, 'live');
  try {
    vacuumInto(db, dest);
  } finally {
    db.close();
  }
  return sealSnapshot(dest);
}
