import type Database from 'better-sqlite3';
import type { WireResolution } from '../../sync/protocol/types.js';
import { siteId, type Db } from '../store.js';
import { MATCH_PAIR, pairArgs, pairOf, pairOfWire, pairToWire, resolutionLabel, type ConflictWrites, type WritePair } from './pair.js';
import { ConflictStore } from './store.js';
import { stmt } from '../statements.js';
import { cellWrite } from './cell-clock.js';

/** Most resolutions one pull or push carries; the cursor resumes after the last one sent. */
const BATCH = 1000;

/** A crsync_resolutions row as read (the hub's PostgreSQL store keeps the same columns). */
export interface ResolutionRow {
  id: bigint;
  tbl: string;
  pk: Buffer;
  cid: string;
  kind: WritePair['kind'];
  a_site: Buffer;
  a_version: bigint;
  b_site: Buffer;
  b_version: bigint;
  choice: WireResolution['choice'];
  value: string;
  resolver: Buffer;
  written_version: bigint | null;
  at: string;
}

interface Write {
  site: Buffer;
  version: bigint;
  value: string;
}

/** A stored resolution in wire form. */
export function toWire(r: ResolutionRow): WireResolution {
  const pair: WritePair = { table: r.tbl, pk: r.pk, cid: r.cid, kind: r.kind, aSite: r.a_site, aVersion: r.a_version, bSite: r.b_site, bVersion: r.b_version };
  return { ...pairToWire(pair), choice: r.choice, value: r.value, resolver: r.resolver, writtenVersion: r.written_version, at: r.at };
}

/**
 * Resolutions made here or heard of. Each closes the copies of its conflict that this replica
 * holds, now or when one arrives later (ConflictStore.record looks here), and travels on: pushes
 * carry them to remotes, a hub relays them to every site that pulls.
 */
export class ResolutionStore {
  private readonly insert: Database.Statement;
  private readonly afterStmt: Database.Statement;
  private readonly maxIdStmt: Database.Statement;
  private readonly anyAfterStmt: Database.Statement;
  private readonly openCopies: Database.Statement;
  private readonly anyCopy: Database.Statement;
  private readonly close: Database.Statement;
  private readonly others: Database.Statement;
  private readonly local: Buffer;
  private conflictStore: ConflictStore | undefined;

  constructor(private readonly db: Db) {
    this.local = siteId(db);
    this.insert = stmt(db, `INSERT OR IGNORE INTO crsync_resolutions (tbl, pk, cid, kind, a_site, a_version, b_site, b_version, choice, value, resolver, written_version, at, from_site)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.afterStmt = stmt(db, `SELECT * FROM crsync_resolutions WHERE id > ? AND (from_site IS NULL OR from_site != ?) AND resolver != ? ORDER BY id LIMIT ${BATCH}`, { safeIntegers: true });
    this.maxIdStmt = stmt(db, 'SELECT coalesce(max(id), 0) FROM crsync_resolutions', { pluck: true, safeIntegers: true });
    this.anyAfterStmt = stmt(db, 'SELECT 1 FROM crsync_resolutions WHERE id > ? AND (from_site IS NULL OR from_site != ?) AND resolver != ? LIMIT 1', { pluck: true });
    this.openCopies = stmt(db, `SELECT id, winner FROM crsync_conflicts WHERE ${MATCH_PAIR} AND resolved_at IS NULL`, { safeIntegers: true });
    this.anyCopy = stmt(db, `SELECT 1 FROM crsync_conflicts WHERE ${MATCH_PAIR} LIMIT 1`, { pluck: true });
    this.close = stmt(db, 'UPDATE crsync_conflicts SET resolved_at = ?, resolution = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL');
    this.others = stmt(db, `SELECT * FROM crsync_resolutions WHERE tbl = ? AND pk = ? AND cid = ? AND kind = ? AND a_site = ? AND a_version = ?
         AND b_site = ? AND b_version = ? AND resolver != ? AND written_version IS NOT NULL`, { safeIntegers: true });
  }

  private conflicts(): ConflictStore {
    this.conflictStore ??= new ConflictStore(this.db);
    return this.conflictStore;
  }

  /**
   * Records a resolution made here of conflict `c` (in the same transaction as its write);
   * returns false when the conflict cannot be named (a record without its versions).
   */
  recordLocal(c: ConflictWrites & { winner: 'ours' | 'theirs' }, kept: 'ours' | 'theirs' | 'value', value: string, writtenVersion: bigint | null): boolean {
    const pair = pairOf(c);
    if (!pair) return false;
    const choice = kept === 'value' ? 'value' : kept === c.winner ? 'winner' : 'loser';
    const at = new Date().toISOString();
    const r: WireResolution = { ...pairToWire(pair), choice, value, resolver: this.local, writtenVersion, at };
    // A second resolution of the same conflict here replaces the first: the latest decision is ours.
    stmt(this.db, 'DELETE FROM crsync_resolutions WHERE tbl = ? AND pk = ? AND cid = ? AND kind = ? AND a_site = ? AND a_version = ? AND b_site = ? AND b_version = ? AND resolver = ?').run(pair.table, pair.pk, pair.cid, pair.kind, pair.aSite, pair.aVersion, pair.bSite, pair.bVersion, this.local);
    this.store(pair, r, null);
    // Every other open copy of the same pair of writes here (heard of from another peer, or in
    // the other orientation) is settled by this decision too.
    for (const o of this.openCopies.all(...pairArgs(pair)) as { id: bigint; winner: 'ours' | 'theirs' }[]) {
      this.close.run(at, resolutionLabel(choice, o.winner), null, o.id);
    }
    return true;
  }

  private store(pair: WritePair, r: WireResolution, fromSite: Uint8Array | null): boolean {
    const info = this.insert.run(
      pair.table, pair.pk, pair.cid, pair.kind, pair.aSite, pair.aVersion, pair.bSite, pair.bVersion,
      r.choice, r.value, r.resolver, r.writtenVersion, r.at, fromSite,
    );
    return info.changes > 0;
  }

  /**
   * Applies resolutions another replica sent: records each once, closes the open copies of its
   * conflict, and, when two sites resolved one conflict with different written values, records
   * that pair of writes as a conflict of its own (they are concurrent writes) on every replica
   * that held the conflict they resolved. Returns how many conflicts that recorded.
   * Call inside a transaction.
   */
  receive(list: WireResolution[], fromSite: Uint8Array, remote: string | null): number {
    let recorded = 0;
    for (const r of list) {
      const pair = pairOfWire(r);
      if (!this.store(pair, r, fromSite)) continue;
      for (const c of this.openCopies.all(...pairArgs(pair)) as { id: bigint; winner: 'ours' | 'theirs' }[]) {
        this.close.run(r.at, resolutionLabel(r.choice, c.winner), r.resolver, c.id);
      }
      if (r.writtenVersion !== null && r.kind === 'update_update' && this.anyCopy.get(...pairArgs(pair)) !== undefined) {
        recorded += this.concurrent(pair, r, remote);
      }
    }
    return recorded;
  }

  /** Records the conflicts between `r`'s write and other sites' written resolutions of its pair. */
  private concurrent(pair: WritePair, r: WireResolution, remote: string | null): number {
    let recorded = 0;
    const rows = this.others.all(pair.table, pair.pk, pair.cid, pair.kind, pair.aSite, pair.aVersion, pair.bSite, pair.bVersion, r.resolver) as ResolutionRow[];
    // Recording conflicts writes no cell: the cell's write is the same for every row.
    const now = rows.length > 0 ? cellWrite(this.db, pair.table, pair.pk, pair.cid) : null;
    for (const o of rows) {
      if (o.value === r.value) continue;
      const x: Write = { site: Buffer.from(r.resolver), version: r.writtenVersion!, value: r.value };
      const y: Write = { site: o.resolver, version: o.written_version!, value: o.value };
      const holds = (w: Write): boolean => now !== null && now.site.equals(w.site) && now.version === w.version;
      // A later write has decided the cell already: the two resolutions are not open any more.
      if (!holds(x) && !holds(y)) continue;
      // Ours is this replica's own write when it is one of them, else the one the cell holds.
      const ours = x.site.equals(this.local) || (!y.site.equals(this.local) && holds(x)) ? x : y;
      const theirs = ours === x ? y : x;
      const id = this.conflicts().record(
        {
          table: pair.table, pk: pair.pk, cid: pair.cid, kind: 'update_update', ours: ours.value, theirs: theirs.value,
          winner: holds(ours) ? 'ours' : 'theirs', oursSite: ours.site, theirsSite: theirs.site, oursColVersion: ours.version, theirsColVersion: theirs.version,
        },
        remote,
      );
      if (id !== null) recorded++;
    }
    return recorded;
  }

  /** True when `after(afterId, site)` has something to send (a live sync pushes for it alone). */
  anyAfter(afterId: bigint, site: Uint8Array): boolean {
    return this.anyAfterStmt.get(afterId, site, site) !== undefined;
  }

  /**
   * Resolutions after `afterId` to send to the peer `site` (leaving out what it delivered or
   * resolved itself), at most a batch, and the id to resume after.
   */
  after(afterId: bigint, site: Uint8Array): { resolutions: WireResolution[]; lastId: bigint } {
    const rows = this.afterStmt.all(afterId, site, site) as ResolutionRow[];
    const lastId = rows.length === BATCH ? rows[rows.length - 1]!.id : (this.maxIdStmt.get() as bigint);
    return { resolutions: rows.map(toWire), lastId: lastId > afterId ? lastId : afterId };
  }
}
