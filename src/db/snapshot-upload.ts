import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { CrsyncError } from '../errors.js';
import type { TableSchema } from '../sync/protocol/schema.js';
import { END_OF_VERSION } from '../sync/protocol/types.js';
import { FOREIGN_BOOKKEEPING, uploadProblems } from './snapshot-check.js';
import { adoptSnapshot, forgetSourceMeta, snapshotPosition, vacuumInto, type SnapshotPosition } from './snapshot.js';
import { diffSchemas } from './schema/diff.js';
import { listReplicatedTables, readReplicatedSchema, tableExists } from './schema/read.js';
import { isInternalTable } from './state/bookkeeping.js';
import { notePeerSeen, setPeerReceived } from './state/peers.js';
import { claimSite } from './state/site-owners.js';
import { ensureTxlogTriggers } from './txlog.js';
import { dbVersion, openStore, quoteIdent, type Db } from './store.js';

/**
 * A first push by snapshot: the pusher copies its replica and strips it down to what a hub may
 * take (sealForUpload); the hub checks it (snapshot-check.ts) and makes it a dataset with an
 * identity of its own (adoptUpload), the pusher's writes keeping the pusher's site id.
 */

/** What a sealed upload is: the pusher's site, its stream position, the changes it holds. */
export type UploadPosition = SnapshotPosition;

/**
 * Copies the replica into `dest` (one read transaction) and leaves in the copy only what travels:
 * the replicated tables with cr-sqlite's and crsync's own tables, no bookkeeping of other sites,
 * no local-only table, view, index or trigger of the user's. Deleted content is zeroed
 * (secure_delete) and the copy vacuumed when anything was dropped, so nothing local-only remains
 * in its free pages. `problems` say why the copy cannot travel this way (it is then pushed as a
 * change stream instead): they are what the hub would refuse.
 */
export function sealForUpload(source: Db, dest: string): { position: UploadPosition; problems: string[] } {
  vacuumInto(source, dest);
  const db = new Database(dest, { fileMustExist: true });
  try {
    db.pragma('secure_delete = ON');
    // A scratch copy (removed by the next push if anything fails): no journal, no syncs.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    const replicated = new Set(listReplicatedTables(db));
    let dropped = false;
    db.transaction(() => {
      for (const t of FOREIGN_BOOKKEEPING) {
        if (tableExists(db, t)) db.exec(`DELETE FROM ${t}`);
      }
      const objects = db.prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { type: string; name: string; tbl_name: string }[];
      for (const o of objects) {
        // A user's index on a replicated table, and anything of a table that is not replicated,
        // goes. Triggers stay: the hub drops every trigger and makes cr-sqlite's and crsync's anew.
        const drop = replicated.has(o.tbl_name) ? o.type === 'index' : !isInternalTable(o.tbl_name) || o.name === 'crsync_site_owners';
        if (!drop || o.type === 'trigger') continue;
        if (db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(o.name) === undefined) continue;
        db.exec(`DROP ${o.type.toUpperCase()} ${quoteIdent(o.name)}`);
        dropped = true;
      }
      forgetSourceMeta(db);
    })();
    if (dropped) db.exec('VACUUM');
    const problems = uploadProblems(db, readReplicatedSchema(db));
    db.close();
    return { position: snapshotPosition(dest), problems };
  } finally {
    if (db.open) db.close();
  }
}

/** What a hub made of an upload: its new dataset's site id and position. */
export interface AdoptedUpload {
  site: Buffer;
  version: bigint;
  changes: number;
}

/**
 * Makes a checked upload (checkUpload) of `pusher.site`'s replica a dataset of its own, in place:
 * a fresh site id at ordinal 0, the pusher's local clock rows re-attributed to the pusher's id,
 * every trigger dropped and cr-sqlite's and crsync's made anew (a stranger's trigger never runs
 * here), and the record of the pusher's stream as if it had pushed it all: received up to the
 * end of its version, one merge record delivered by it (so nothing of it is pulled back), its
 * site bound to the token that sent it.
 */
export function adoptUpload(path: string, pusher: { site: Buffer; version: bigint; owner?: Uint8Array }): AdoptedUpload {
  const plain = new Database(path, { fileMustExist: true });
  try {
    plain.pragma('trusted_schema = OFF');
    plain.transaction(() => {
      for (const name of plain.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[]) plain.exec(`DROP TRIGGER ${quoteIdent(name)}`);
      plain.exec('DROP TABLE IF EXISTS crsync_site_owners');
    })();
  } finally {
    plain.close();
  }
  const adopted = adoptSnapshot(path, pusher);
  const store = openStore(path);
  let result: AdoptedUpload;
  try {
    const db = store.db;
    for (const t of listReplicatedTables(db)) db.prepare('SELECT crsql_as_crr(?)').run(t);
    ensureTxlogTriggers(db);
    const version = dbVersion(db);
    if (version !== pusher.version) throw new Error(`the adopted snapshot stands at version ${version}, not ${pusher.version}`);
    db.transaction(() => {
      setPeerReceived(db, pusher.site, { version, seq: END_OF_VERSION });
      notePeerSeen(db, pusher.site, version);
      if (version > 0n) {
        db.prepare('INSERT INTO crsync_applied (db_version, peer_site, remote, changes, at, last_version) VALUES (1, ?, NULL, ?, ?, ?)').run(pusher.site, adopted.changes, new Date().toISOString(), version);
      }
      if (pusher.owner) claimSite(db, pusher.site, pusher.owner);
    })();
    result = { site: adopted.site, version, changes: adopted.changes };
  } finally {
    store.close();
  }
  // The last connection's close checkpointed the WAL: the file alone is the dataset.
  if (existsSync(`${path}-wal`)) throw new Error(`${path}-wal outlived its connection`);
  return result;
}

/**
 * Why an existing dataset may not be replaced by an adopted upload (null: it may). Only a dataset
 * with no change, conflict or resolution yet, whose schema the upload holds whole (replicas that
 * cloned it keep a schema the new dataset has), is replaced.
 */
export function replaceProblem(existing: Db, adopted: string): string | null {
  if (dbVersion(existing) > 0n) return 'it holds changes';
  const kept = existing.prepare('SELECT (SELECT count(*) FROM crsync_conflicts) + (SELECT count(*) FROM crsync_resolutions)').pluck().get() as number;
  if (kept > 0) return 'it holds conflicts or resolutions';
  const mine = readReplicatedSchema(existing).tables;
  const up = new Database(adopted, { fileMustExist: true });
  try {
    if (!schemaWithin(mine, readReplicatedSchema(up).tables)) return NOT_WITHIN;
  } finally {
    up.close();
  }
  return null;
}

/** Why a dataset whose schema is not part of an upload's keeps its own. */
export const NOT_WITHIN = 'its schema is not part of the snapshot\'s';

/** Whether schema `mine` is part of `upload`'s (replicas that cloned it keep a schema the new dataset has). */
export function schemaWithin(mine: TableSchema[], upload: TableSchema[]): boolean {
  const diff = diffSchemas(mine, upload);
  return diff.relation !== 'diverged' && diff.localExtras.tables.length + diff.localExtras.columns.length === 0;
}

/** dataset_not_empty for an upload that may not replace dataset `name` (the client pushes its change stream). */
export function notEmpty(name: string, why: string): CrsyncError {
  return new CrsyncError('dataset_not_empty', `dataset ${name} cannot take a snapshot: ${why}`, { hint: 'push its change stream instead (crsync does so by itself)' });
}
