import type Database from 'better-sqlite3';
import type { Db } from '../store.js';
import type { Change, WireConflict, WireResolution } from '../../sync/protocol/types.js';
import { pairOf, resolutionLabel } from './pair.js';
import { CellClock } from './cell-clock.js';
import { MAX_CONFLICTS_PER_FRAME } from '../../sync/protocol/shape.js';
import { stmt } from '../statements.js';

/**
 * A conflict to record, from this replica's point of view (values already in crsync JSON text).
 * The same shape travels on the wire (push responses, conflict frames).
 */
export type ConflictInput = WireConflict;

/**
 * Writes conflicts to crsync_conflicts once each: the same pair of writes met again (the hub
 * reporting what the client already saw on pull) is not recorded twice.
 */
export class ConflictStore {
  private readonly findSame: Database.Statement;
  private readonly findSameLives: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly forPeerStmt: Database.Statement;
  private readonly byRemoteStmt: Database.Statement;
  private readonly maxIdStmt: Database.Statement;
  private readonly anyOpenStmt: Database.Statement;
  private readonly openForCellStmt: Database.Statement;
  private readonly markSuperseded: Database.Statement;
  private readonly resolutionOf: Database.Statement;
  private readonly markResolved: Database.Statement;
  private readonly cells: CellClock;

  constructor(db: Db) {
    this.cells = new CellClock(db);
    // Newest first: on a hub older conflicts get superseded, the recent ones are the open ones.
    this.anyOpenStmt = stmt(db, 'SELECT 1 FROM crsync_conflicts WHERE resolved_at IS NULL ORDER BY id DESC LIMIT 1', { pluck: true });
    // By the cell index: the cost follows the changes applied, not how many conflicts stay open.
    this.openForCellStmt = stmt(db, `SELECT id, max(coalesce(ours_col_version, 0), coalesce(theirs_col_version, 0)) AS cv
         FROM crsync_conflicts WHERE tbl = ? AND pk = ? AND cid IS ? AND resolved_at IS NULL`, { raw: true, safeIntegers: true });
    this.markSuperseded = stmt(db, "UPDATE crsync_conflicts SET resolved_at = ?, resolution = 'superseded' WHERE id = ? AND resolved_at IS NULL");
    // Each lookup is one equality search of the crsync_conflicts_pair index (a pair of writes
    // is looked up both ways round: two plain queries, since SQLite does not split the OR).
    this.findSame = stmt(db, `SELECT id FROM crsync_conflicts WHERE tbl = ? AND pk = ? AND cid IS ? AND ours_col_version IS ? AND theirs_col_version IS ?
       AND kind = ? AND ours_site IS ? AND theirs_site IS ?`);
    // A delete_update is one life of a row ended by a delete (or delete and re-insert) of a
    // later life: the pair of causal lengths names it, whichever site each side saw it from.
    // (Any open conflict on the row was too coarse: a later, different loss went unrecorded.)
    this.findSameLives = stmt(db, `SELECT id FROM crsync_conflicts WHERE tbl = ? AND pk = ? AND cid IS NULL AND ours_col_version IS ? AND theirs_col_version IS ?
       AND kind = 'delete_update'`);
    this.insert = stmt(db, `INSERT INTO crsync_conflicts (tbl, pk, cid, kind, ours, theirs, winner, ours_site, theirs_site, ours_col_version, theirs_col_version, remote, detected_at, reported_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.resolutionOf = stmt(db, `SELECT choice, resolver, at FROM crsync_resolutions WHERE tbl = ? AND pk = ? AND cid = ? AND kind = ?
       AND a_site = ? AND a_version = ? AND b_site = ? AND b_version = ? ORDER BY id DESC LIMIT 1`);
    this.markResolved = stmt(db, 'UPDATE crsync_conflicts SET resolved_at = ?, resolution = ?, resolved_by = ? WHERE id = ?');
    const cols = 'id, tbl, pk, cid, kind, ours, theirs, winner, ours_site, theirs_site, ours_col_version, theirs_col_version';
    this.forPeerStmt = stmt(db, `SELECT ${cols} FROM crsync_conflicts WHERE id > ?
         AND ((ours_site = ? AND winner = 'theirs') OR (theirs_site = ? AND winner = 'ours'))
         AND (reported_by IS NULL OR reported_by != ?) ORDER BY id LIMIT ${MAX_CONFLICTS_PER_FRAME}`, { safeIntegers: true });
    this.byRemoteStmt = stmt(db, `SELECT ${cols} FROM crsync_conflicts WHERE id > ? AND remote = ? ORDER BY id LIMIT ${MAX_CONFLICTS_PER_FRAME}`, { safeIntegers: true });
    this.maxIdStmt = stmt(db, 'SELECT coalesce(max(id), 0) FROM crsync_conflicts', { pluck: true, safeIntegers: true });
  }

  /** Records a conflict; returns its id, or null when that pair of writes is already recorded. */
  record(c: ConflictInput, remote: string | null, reportedBy: Uint8Array | null = null): number | null {
    const existing =
      c.kind === 'delete_update'
        ? this.findSameLives.get(c.table, c.pk, c.oursColVersion, c.theirsColVersion) ??
          this.findSameLives.get(c.table, c.pk, c.theirsColVersion, c.oursColVersion)
        : this.findSame.get(c.table, c.pk, c.cid, c.oursColVersion, c.theirsColVersion, c.kind, c.oursSite, c.theirsSite) ??
          this.findSame.get(c.table, c.pk, c.cid, c.theirsColVersion, c.oursColVersion, c.kind, c.theirsSite, c.oursSite);
    if (existing) return null;
    const info = this.insert.run(
      c.table, c.pk, c.cid, c.kind, c.ours, c.theirs, c.winner,
      c.oursSite, c.theirsSite, c.oursColVersion, c.theirsColVersion,
      remote, new Date().toISOString(), reportedBy,
    );
    const id = Number(info.lastInsertRowid);
    if (!this.closeIfResolved(id, c)) this.closeIfDecided(id, c);
    return id;
  }

  /**
   * A copy that arrives after a later write decided its cell here is closed at once, by the
   * rule a merge applies to open copies (supersedeBy): the order in which a replica hears of
   * the conflict and of the later write does not matter. (A hub records a pushed conflict
   * report after the push's pages, which may carry that write.)
   */
  private closeIfDecided(id: number, c: ConflictInput): void {
    if (c.oursColVersion === null || c.theirsColVersion === null) return;
    const now = this.cells.write(c.table, c.pk, c.kind === 'delete_update' ? '-1' : (c.cid ?? '-1'));
    const both = c.oursColVersion > c.theirsColVersion ? c.oursColVersion : c.theirsColVersion;
    if (now && now.version > both) this.markSuperseded.run(new Date().toISOString(), BigInt(id));
  }

  /** A copy that arrives after a resolution of its pair was heard of is closed at once; true when it was. */
  private closeIfResolved(id: number, c: ConflictInput): boolean {
    const p = pairOf(c);
    if (!p) return false;
    const r = this.resolutionOf.get(p.table, p.pk, p.cid, p.kind, p.aSite, p.aVersion, p.bSite, p.bVersion) as
      | { choice: WireResolution['choice']; resolver: Buffer; at: string }
      | undefined;
    if (r) this.markResolved.run(r.at, resolutionLabel(r.choice, c.winner), r.resolver, id);
    return r !== undefined;
  }

  /**
   * Conflicts recorded after `afterId` (a frame's worth at most) in which `site` wrote the side that lost, seen from that
   * site (its write is "ours"), leaving out those it reported or was answered with already.
   */
  forPeer(site: Uint8Array, afterId: bigint): { conflicts: ConflictInput[]; lastId: bigint } {
    const rows = this.forPeerStmt.all(afterId, site, site, site) as ConflictRow[];
    const conflicts = rows.map((r) => {
      const c = fromRow(r);
      return r.ours_site && Buffer.from(site).equals(r.ours_site) ? c : flipConflict(c);
    });
    // A full batch says where it stopped: the rest comes with the next pull.
    const lastId = rows.length === MAX_CONFLICTS_PER_FRAME ? rows[rows.length - 1]!.id : (this.maxIdStmt.get() as bigint);
    return { conflicts, lastId };
  }

  /** The newest conflict id (0 when none). */
  maxId(): bigint {
    return this.maxIdStmt.get() as bigint;
  }

  /** Conflicts detected through `remote` after `afterId` (to report to it, a frame's worth at most), with the last id. */
  detectedThrough(remote: string, afterId: bigint): { conflicts: ConflictInput[]; lastId: bigint } {
    const rows = this.byRemoteStmt.all(afterId, remote) as ConflictRow[];
    return { conflicts: rows.map(fromRow), lastId: rows.length > 0 ? rows[rows.length - 1]!.id : afterId };
  }

  /** True when some conflict is open (else no write can supersede one). */
  anyOpen(): boolean {
    return this.anyOpenStmt.get() !== undefined;
  }

  /**
   * Open conflicts of one cell (cid '-1': the row, i.e. delete_update), each with the higher
   * version of its two writes (col_version, or causal length for delete_update).
   */
  openForCell(table: string, pk: Uint8Array, cid: string): { id: bigint; version: bigint }[] {
    const rows = this.openForCellStmt.all(table, pk, cid === '-1' ? null : cid) as [bigint, bigint][];
    return rows.map(([id, version]) => ({ id, version }));
  }

  /**
   * Closes (`superseded`) the open conflicts whose cell one of `changes` decides: its
   * col_version (causal length for the row) is above both conflicting writes, so it was made
   * after them. Every replica runs it on the writes that pass through it: merged in (a pull, a
   * pushed page on a hub) and, on the writer, its own writes as its push sends them. Returns
   * how many it closed. Call inside a transaction when `changes` is large.
   */
  supersedeBy(changes: readonly Change[]): number {
    if (!this.anyOpen()) return 0;
    const ids = new Set<bigint>();
    for (const c of changes) {
      const version = c[2] === '-1' ? c[7] : c[4];
      for (const e of this.openForCell(c[0], c[1], c[2])) if (version > e.version) ids.add(e.id);
    }
    const at = new Date().toISOString();
    for (const id of ids) this.markSuperseded.run(at, id);
    return ids.size;
  }
}

/** A crsync_conflicts row as read (the hub's PostgreSQL store keeps the same columns). */
export interface ConflictRow {
  id: bigint;
  tbl: string;
  pk: Buffer;
  cid: string | null;
  kind: ConflictInput['kind'];
  ours: string;
  theirs: string;
  winner: ConflictInput['winner'];
  ours_site: Buffer | null;
  theirs_site: Buffer | null;
  ours_col_version: bigint | null;
  theirs_col_version: bigint | null;
}

/** A stored conflict in wire form. */
export function fromRow(r: ConflictRow): ConflictInput {
  return {
    table: r.tbl,
    pk: r.pk,
    cid: r.cid,
    kind: r.kind,
    ours: r.ours,
    theirs: r.theirs,
    winner: r.winner,
    oursSite: r.ours_site,
    theirsSite: r.theirs_site,
    oursColVersion: r.ours_col_version,
    theirsColVersion: r.theirs_col_version,
  };
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
