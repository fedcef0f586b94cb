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
  private readonly open: Database.Statement;
  private readonly markSuperseded: Database.Statement;

  constructor(db: Db) {
    this.open = db
      .prepare(
        `SELECT id, tbl, pk, cid, max(coalesce(ours_col_version, 0), coalesce(theirs_col_version, 0)) AS cv
         FROM crsync_conflicts WHERE resolved_at IS NULL`,
      )
      .raw(true)
      .safeIntegers(true);
    this.markSuperseded = db.prepare(
      "UPDATE crsync_conflicts SET resolved_at = ?, resolution = 'superseded' WHERE id = ? AND resolved_at IS NULL",
    );
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

  /**
   * Open conflicts by cell key (see cellKey), each with the higher version of its two writes
   * (col_version, or causal length for delete_update).
   */
  openByCell(): Map<string, { id: bigint; version: bigint }[]> {
    const out = new Map<string, { id: bigint; version: bigint }[]>();
    for (const [id, tbl, pk, cid, cv] of this.open.all() as [bigint, string, Buffer, string | null, bigint][]) {
      const key = cellKey(tbl, pk, cid ?? '-1');
      const list = out.get(key);
      if (list) list.push({ id, version: cv });
      else out.set(key, [{ id, version: cv }]);
    }
    return out;
  }

  /** Marks open conflicts resolved because a later write decided their cell. */
  supersede(ids: Iterable<bigint>): void {
    const at = new Date().toISOString();
    for (const id of ids) this.markSuperseded.run(at, id);
  }
}

/** Key of a cell (the row itself for cid '-1') in maps of conflicts. */
export function cellKey(table: string, pk: Uint8Array, cid: string): string {
  return table + '\0' + Buffer.from(pk).toString('hex') + '\0' + cid;
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
