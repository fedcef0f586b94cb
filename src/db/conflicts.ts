import type Database from 'better-sqlite3';
import type { Db } from './store.js';

/** A conflict to record, from this replica's point of view (values already in crsync JSON text). */
export interface ConflictInput {
  table: string;
  pk: Uint8Array;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  ours: string;
  theirs: string;
  winner: 'ours' | 'theirs';
  oursSite: Uint8Array | null;
  theirsSite: Uint8Array | null;
  oursColVersion: bigint | null;
  theirsColVersion: bigint | null;
}

/**
 * Writes conflicts to crsync_conflicts once each: the same pair of writes met again (the hub
 * reporting what the client already saw on pull) is not recorded twice.
 */
export class ConflictStore {
  private readonly findSame: Database.Statement;
  private readonly findOpenRow: Database.Statement;
  private readonly insert: Database.Statement;

  constructor(db: Db) {
    this.findSame = db.prepare(
      `SELECT id FROM crsync_conflicts WHERE tbl = ? AND pk = ? AND cid IS ? AND kind = ?
       AND ((ours_site IS ? AND ours_col_version IS ? AND theirs_site IS ? AND theirs_col_version IS ?)
         OR (ours_site IS ? AND ours_col_version IS ? AND theirs_site IS ? AND theirs_col_version IS ?))`,
    );
    this.findOpenRow = db.prepare(
      "SELECT id FROM crsync_conflicts WHERE tbl = ? AND pk = ? AND kind = 'delete_update' AND resolved_at IS NULL",
    );
    this.insert = db.prepare(
      `INSERT INTO crsync_conflicts (tbl, pk, cid, kind, ours, theirs, winner, ours_site, theirs_site, ours_col_version, theirs_col_version, remote, detected_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  /** Records a conflict; returns its id, or null when that pair of writes is already recorded. */
  record(c: ConflictInput, remote: string | null): number | null {
    const existing =
      c.kind === 'delete_update'
        ? this.findOpenRow.get(c.table, c.pk)
        : this.findSame.get(
            c.table, c.pk, c.cid, c.kind,
            c.oursSite, c.oursColVersion, c.theirsSite, c.theirsColVersion,
            c.theirsSite, c.theirsColVersion, c.oursSite, c.oursColVersion,
          );
    if (existing) return null;
    const info = this.insert.run(
      c.table, c.pk, c.cid, c.kind, c.ours, c.theirs, c.winner,
      c.oursSite, c.theirsSite, c.oursColVersion, c.theirsColVersion,
      remote, new Date().toISOString(),
    );
    return Number(info.lastInsertRowid);
  }
}

/** The same conflict seen from the other side (a hub's record, as the pushing client keeps it). */
export function flipConflict(c: ConflictInput): ConflictInput {
  return {
    ...c,
    ours: c.theirs,
    theirs: c.ours,
    winner: c.winner === 'ours' ? 'theirs' : 'ours',
    oursSite: c.theirsSite,
    theirsSite: c.oursSite,
    oursColVersion: c.theirsColVersion,
    theirsColVersion: c.oursColVersion,
  };
}
