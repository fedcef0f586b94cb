import type { Db } from '../store.js';
import { stmt } from '../statements.js';

/**
 * Local db_versions a peer delivered, as sorted, disjoint, inclusive ranges [first, last].
 *
 * Each merge transaction of a page from one peer produces local versions above every existing
 * one, so a run of pages from the same peer with no other write in between is one contiguous
 * range: crsync_applied keeps one row per run (db_version = first, last_version = last), not one
 * per merge. Readers only ever ask for the ranges above a cursor, so their cost follows what
 * happened since that cursor, never the length of the history.
 */
export class DeliveredRanges {
  private readonly firsts: bigint[] = [];
  private readonly lasts: bigint[] = [];

  constructor(rows: Iterable<[first: bigint, last: bigint]> = []) {
    for (const [first, last] of rows) this.add(first, last);
  }

  /** Adds a range at or above the ones held (ranges only ever grow upwards). */
  add(first: bigint, last: bigint): void {
    const n = this.lasts.length;
    if (n > 0 && first <= this.lasts[n - 1]! + 1n) {
      if (last > this.lasts[n - 1]!) this.lasts[n - 1] = last;
      return;
    }
    this.firsts.push(first);
    this.lasts.push(last);
  }

  /** True when `version` lies in one of the ranges. */
  has(version: bigint): boolean {
    let lo = 0;
    let hi = this.lasts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.lasts[mid]! < version) lo = mid + 1;
      else if (this.firsts[mid]! > version) hi = mid - 1;
      else return true;
    }
    return false;
  }

  /** The ranges, ascending. */
  *[Symbol.iterator](): Generator<[bigint, bigint]> {
    for (let i = 0; i < this.firsts.length; i++) yield [this.firsts[i]!, this.lasts[i]!];
  }

  get size(): number {
    return this.firsts.length;
  }
}

/** Most ranges a stream skips one by one; past it, the filter runs in SQL row by row instead. */
export const MAX_SKIPPED_RANGES = 64;

/**
 * The ranges of local versions above `after` that `peerSite` delivered (indexed by peer and
 * last version), or null when there are more than `max` of them (then filter with
 * NOT_DELIVERED in SQL: memory stays flat however long the history above the cursor is).
 */
export function deliveredAfter(db: Db, peerSite: Uint8Array, after: bigint, max = MAX_SKIPPED_RANGES): DeliveredRanges | null {
  const rows = stmt(db, 'SELECT max(db_version, ?) AS first, last_version FROM crsync_applied WHERE peer_site = ? AND last_version > ? ORDER BY db_version LIMIT ?', { raw: true, safeIntegers: true })
    .all(after + 1n, peerSite, after, max + 1) as [bigint, bigint][];
  return rows.length > max ? null : new DeliveredRanges(rows);
}

/**
 * SQL condition (one parameter: the peer's site) that a row's `<alias>.db_version` was not
 * delivered by that peer. Runs never overlap, so the run that starts at or below a version is the
 * only one that can hold it: one primary-key lookup per row.
 */
export function notDeliveredSql(alias: string): string {
  return ` AND NOT coalesce((SELECT a.last_version >= ${alias}.db_version AND a.peer_site = ? FROM crsync_applied a WHERE a.db_version <= ${alias}.db_version ORDER BY a.db_version DESC LIMIT 1), 0)`;
}

/** Whether a local version was delivered by `peerSite`: one indexed lookup per call. */
export function deliveredBy(db: Db, peerSite: Uint8Array): (version: bigint) => boolean {
  const lookup = stmt(db, 'SELECT peer_site = ? AND last_version >= ? FROM crsync_applied WHERE db_version <= ? ORDER BY db_version DESC LIMIT 1', { pluck: true, safeIntegers: true });
  const site = Buffer.from(peerSite);
  return (v) => Number((lookup.get(site, v, v) as bigint | number | undefined) ?? 0) === 1;
}

/** Retention of merge records that no sync needs any more (kept for `crsync log`'s sources). */
const KEEP_RECORDS = 10_000;

/** Most records one call deletes: a long history drains over several syncs, none of them slow. */
const PRUNE_BATCH = 5_000;

/**
 * Drops a peer's merge records at or below `floor` (everything there is known to the peer, so
 * neither echo suppression nor conflict detection asks for them), keeping the newest
 * KEEP_RECORDS rows of the table for the log. Cost: at most PRUNE_BATCH deletions.
 */
export function pruneDelivered(db: Db, peerSite: Uint8Array, floor: bigint): void {
  const keepFrom = stmt(db, 'SELECT db_version FROM crsync_applied ORDER BY db_version DESC LIMIT 1 OFFSET ?', { pluck: true, safeIntegers: true })
    .get(KEEP_RECORDS) as bigint | undefined;
  if (keepFrom === undefined) return;
  stmt(db, `DELETE FROM crsync_applied WHERE db_version IN (
       SELECT db_version FROM crsync_applied WHERE db_version <= ? AND last_version <= ? AND peer_site = ? LIMIT ${PRUNE_BATCH})`).run(keepFrom, floor, peerSite);
}
