import { CrsyncError } from '../errors.js';
import { ChangeApplier, readPages, countChangesAfter, versionsAppliedFrom, type ApplyResult } from '../db/changes/apply.js';
import { getPeer, notePeerSeen, setPeerReceived } from '../db/state/peers.js';
import { diffSchemas } from '../db/schema/diff.js';
import { readReplicatedSchema } from '../db/schema/read.js';
import { applyAdditiveSchema } from '../db/schema/apply.js';
import { dbVersion, openStore, siteId, type Db, type Store } from '../db/store.js';
import type { DetectedConflict } from '../db/conflicts/detect.js';
import { ConflictStore } from '../db/conflicts/store.js';
import { ReportedConflictCheck } from '../db/conflicts/check.js';
import { cursorToJson } from './protocol/codec.js';
import { PROTOCOL_VERSION, type Cursor, type DatasetInfo, type Page, type SchemaRequest, type WireConflict } from './protocol/types.js';

/**
 * The serving side of a sync: what a hub does for one dataset, and what a client does to a peer
 * database file in direct peer-to-peer sync. Both transports call exactly these operations.
 */
export class ServedReplica {
  readonly site: Buffer;
  /** Prepared once per dataset: a hub asks it on every pull and every push that reports conflicts. */
  private conflictStore: ConflictStore | undefined;

  constructor(
    readonly store: Store,
    readonly name: string,
  ) {
    this.site = siteId(store.db);
  }

  get db(): Db {
    return this.store.db;
  }

  /** Identity, schema and (for a site) the resume point of its pushes. */
  info(site?: Uint8Array): DatasetInfo {
    const info: DatasetInfo = {
      protocol: PROTOCOL_VERSION,
      dataset: this.name,
      siteId: this.site.toString('hex'),
      dbVersion: dbVersion(this.db).toString(),
      schema: readReplicatedSchema(this.db),
    };
    if (site) info.received = this.received(site);
    return info;
  }

  /** How far this replica has committed a site's pushes (where its next push resumes). */
  received(site: Uint8Array): { version: string; seq: string } {
    return cursorToJson(getPeer(this.db, site).received);
  }

  /** A separate connection for one long read (a pull stream), so writes can go on meanwhile. */
  openReader(): Store {
    return openStore(this.store.path, {});
  }

  /**
   * Pages of our stream after `since` for the site asking: its own writes and what it
   * delivered are left out. A pull writes nothing: anyone may claim a site id in a GET, so how
   * far a site has seen comes only with its own pushes (their `seen` header).
   */
  pull(reader: Db, site: Uint8Array, since: Cursor, pageSize: number): Generator<Page> {
    this.checkNotAhead(since.version, 'since');
    return readPages(reader, since, pageSize, { excludeSite: site, excludeVersions: versionsAppliedFrom(this.db, site) });
  }

  /**
   * A position in our stream beyond its end is not one we gave out (or we were restored from an
   * older copy): taking it would skip our next writes for that client and hide its conflicts.
   */
  checkNotAhead(version: bigint, what: string): void {
    const ours = dbVersion(this.db);
    if (version > ours) {
      throw new CrsyncError('cursor_ahead', `${what}=${version} is beyond the end of dataset ${this.name} (version ${ours})`, {
        hint: 'the replica remembers a later version than this dataset has: it was restored from an older copy or the cursor is forged; clone it again',
        details: { dbVersion: ours.toString() },
      });
    }
  }

  /** How many changes a pull from `since` would carry. */
  countPending(site: Uint8Array, since: Cursor): number {
    this.checkNotAhead(since.version, 'since');
    return countChangesAfter(this.db, since, { excludeSite: site, excludeVersions: versionsAppliedFrom(this.db, site) }).total;
  }

  /** An applier for one push from `site`; `seen` is how far that site has pulled our stream. */
  pushApplier(site: Uint8Array, seen: bigint | undefined): (page: Page) => ApplyResult {
    if (Buffer.from(site).equals(this.site)) {
      throw new CrsyncError('same_site', 'a replica cannot sync with itself (same site id)', {
        exitCode: 2,
        hint: 'a copied database file shares its site id; use `crsync clone` to make a new replica',
      });
    }
    if (seen !== undefined) this.checkNotAhead(seen, 'seen');
    const known = getPeer(this.db, site).seen;
    const peerSeen = seen !== undefined && seen > known ? seen : known;
    const fromPeer = versionsAppliedFrom(this.db, site);
    const applier = new ChangeApplier(this.db, {
      peerSite: site,
      remote: null,
      knownToPeer: (v) => v <= peerSeen || fromPeer.has(v),
      detectConflicts: true,
      reportedBy: site,
    });
    // Bookkeeping moves only with a committed page: a refused push leaves the replica as it was.
    return (page) =>
      applier.apply(page.changes, (versions) => {
        for (const v of versions) fromPeer.add(v);
        if (seen !== undefined) notePeerSeen(this.db, site, seen);
        setPeerReceived(this.db, site, page.cursor);
      });
  }

  private conflicts(): ConflictStore {
    this.conflictStore ??= new ConflictStore(this.db);
    return this.conflictStore;
  }

  /**
   * Conflicts a site should hear of: recorded here after `afterId`, in which that site's write
   * lost, that it neither reported nor was answered with. Seen from the site.
   */
  conflictsFor(site: Uint8Array, afterId: bigint): { conflicts: WireConflict[]; lastId: bigint } {
    return this.conflicts().forPeer(site, afterId);
  }

  /**
   * Records conflicts a client found while pulling, so the other side's site hears of them.
   * Records that cannot be conflicts of this dataset (ReportedConflictCheck) are left out and
   * counted: refusing the push would jam the client, which sends them again with every push.
   */
  recordReported(site: Uint8Array, conflicts: WireConflict[]): { added: number; refused: number } {
    const store = this.conflicts();
    const check = new ReportedConflictCheck(this.db);
    let added = 0;
    let refused = 0;
    this.db.transaction(() => {
      for (const c of conflicts) {
        if (check.problem(c) !== null) refused++;
        else if (store.record(c, null, site) !== null) added++;
      }
    })();
    return { added, refused };
  }

  /**
   * Creates the dataset's schema or carries over additive changes. Anything that is not
   * additive is refused (schema_mismatch) and nothing changes.
   */
  applySchema(req: SchemaRequest, source: string): string[] {
    const local = readReplicatedSchema(this.db);
    const diff = diffSchemas(req.tables, local.tables);
    if (diff.relation === 'diverged') {
      throw new CrsyncError('schema_mismatch', `schemas differ: ${diff.mismatches.join('; ')}`, {
        exitCode: 5,
        details: { mismatches: diff.mismatches },
        hint: 'only additive changes (new tables, new columns with defaults) are carried over',
      });
    }
    if (diff.localExtras.tables.length + diff.localExtras.columns.length === 0) return [];
    return applyAdditiveSchema(this.db, diff.localExtras, source, req.version);
  }
}

/** A detected conflict in wire form (hub to pushing client). */
export function toWireConflict(c: DetectedConflict, ours: string, theirs: string): WireConflict {
  return {
    table: c.table,
    pk: c.pk,
    cid: c.cid,
    kind: c.kind,
    ours,
    theirs,
    winner: c.winner,
    oursSite: c.oursSite,
    theirsSite: c.theirsSite,
    oursColVersion: c.oursColVersion,
    theirsColVersion: c.theirsColVersion,
  };
}
