import Database from 'better-sqlite3';
import { assertSqliteFile, type Db } from '../store.js';
import { isInternalTable, setMeta } from './bookkeeping.js';
import { END_OF_VERSION } from '../../sync/protocol/types.js';
import { dbVersion } from '../store.js';
import { setPeerReceived } from './peers.js';
import { addRemote, resetCursors, setPullCursor, setPushCursor, touchRemote } from './remotes.js';

/** crsync_meta key naming the URL of a clone that has not finished. */
const PENDING = 'clone_pending';

/**
 * What an existing file is to `crsync clone <url>`: a clone of that URL cut short ('resume'),
 * a file with nothing in it yet, e.g. a clone killed during its set-up ('unused'), or anything
 * else, which a clone must not touch ('other').
 */
export function cloneTarget(path: string, url: string): 'resume' | 'unused' | 'other' {
  try {
    if (assertSqliteFile(path) !== 'sqlite') return 'unused';
  } catch {
    return 'other';
  }
  // Plain SQLite, read only: no extension needed to look, and nothing written to a stranger's file.
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const has = (t: string): boolean => tables.includes(t);
    const remotes = has('crsync_remotes') ? (db.prepare('SELECT name, url FROM crsync_remotes').all() as { name: string; url: string }[]) : [];
    const pending = has('crsync_meta') ? db.prepare('SELECT value FROM crsync_meta WHERE key = ?').pluck().get(PENDING) : undefined;
    if (pending === url && remotes.length === 1 && remotes[0]!.name === 'origin' && remotes[0]!.url === url) return 'resume';
    return remotes.length === 0 && tables.every(isInternalTable) ? 'unused' : 'other';
  } catch {
    return 'other';
  } finally {
    db?.close();
  }
}

/** Adds the origin remote and marks the clone unfinished, in one transaction. */
export function startClone(db: Db, url: string): void {
  db.transaction(() => {
    addRemote(db, 'origin', url, 'CRSYNC_TOKEN');
    setMeta(db, PENDING, url);
  })();
}

/** Marks the clone finished: a later `crsync clone` into this file is refused again. */
export function finishClone(db: Db): void {
  db.prepare('DELETE FROM crsync_meta WHERE key = ?').run(PENDING);
}

/**
 * Makes an adopted snapshot (db/snapshot.ts) a clone of `url`, in one transaction: the origin
 * remote with its pull cursor at the end of the snapshot's version (the next pull brings only
 * later changes) and its push cursor at the end of our own current version (the next push sends
 * nothing that came with the snapshot), and one merge record saying the remote delivered all of it.
 */
export function finishSnapshotClone(db: Db, url: string, remoteSite: Buffer, snapshot: { version: bigint; changes: number }): void {
  db.transaction(() => {
    addRemote(db, 'origin', url, 'CRSYNC_TOKEN');
    const pulled = { version: snapshot.version, seq: END_OF_VERSION };
    setPullCursor(db, 'origin', pulled, remoteSite);
    setPeerReceived(db, remoteSite, pulled);
    const own = dbVersion(db);
    setPushCursor(db, 'origin', { version: own, seq: END_OF_VERSION }, remoteSite);
    if (own > 0n) {
      db.prepare('INSERT INTO crsync_applied (db_version, peer_site, remote, changes, at, last_version) VALUES (1, ?, ?, ?, ?, ?)').run(
        remoteSite, 'origin', snapshot.changes, new Date().toISOString(), own,
      );
    }
  })();
}

/** The URL of a clone into this replica that has not finished, or null. */
export function clonePending(db: Db): string | null {
  const v = db.prepare('SELECT value FROM crsync_meta WHERE key = ?').pluck().get(PENDING);
  return typeof v === 'string' ? v : null;
}

/**
 * After a first push by snapshot: the remote is the new dataset `remoteSite` made of our copy up
 * to `version`. In one transaction: every cursor of that remote starts over (it is a new
 * replica), our push cursor stands at the end of `version` (the next push sends nothing that went
 * with the snapshot), and our pull cursor at the hub's position, the same version.
 */
export function finishSnapshotPush(db: Db, name: string, remoteSite: Buffer, version: bigint): void {
  const at = { version, seq: END_OF_VERSION };
  db.transaction(() => {
    resetCursors(db, name, remoteSite);
    setPushCursor(db, name, at, remoteSite);
    setPullCursor(db, name, at, remoteSite);
    setPeerReceived(db, remoteSite, at);
    touchRemote(db, name, 'push');
  })();
}
