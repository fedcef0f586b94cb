import { CrsyncError } from '../errors.js';
import { ChangeApplier, readPages, countChangesAfter, type ApplyContext, type ApplyResult } from '../db/changes/apply.js';
import { deliveredBy, pruneDelivered } from '../db/changes/delivered.js';
import { pruneTxlog } from '../db/txlog.js';
import { getPeer, notePeerSeen, setPeerReceived } from '../db/state/peers.js';
import { listReplicatedTables, readReplicatedSchema } from '../db/schema/read.js';
import { applySchemaRequest } from '../db/schema/apply.js';
import { dbVersion, openStore, siteId, type Db, type Store } from '../db/store.js';
import { schemaCookie } from '../db/statements.js';
import type { DetectedConflict } from '../db/conflicts/detect.js';
import { ConflictStore } from '../db/conflicts/store.js';
import { ResolutionStore } from '../db/conflicts/resolutions.js';
import { ReportedConflictCheck } from '../db/conflicts/check.js';
import { cursorToJson } from './protocol/codec.js';
import { FEATURES, PROTOCOL_VERSION, type Cursor, type DatasetInfo, type Page, type SchemaRequest, type WireConflict, type WireResolution } from './protocol/types.js';
import type { ReplicatedSchema } from './protocol/schema.js';

/**
 * The context of the one cached applier: each push points it at its own context right before it
 * applies a page. An apply is synchronous (one transaction), so pushes in flight at once never
 * see each other's context. ChangeApplier and its conflict detector read the context at each
 * apply, not when they are built.
 */
class PushContext implements ApplyContext {
  current: ApplyContext | undefined;
  private get c(): ApplyContext {
    if (!this.current) throw new Error('applier used outside a push');
    return this.current;
  }
  get peerSite(): Uint8Array {
    return this.c.peerSite;
  }
  get remote(): string | null {
    return this.c.remote;
  }
  get reportedBy(): Uint8Array | undefined {
    return this.c.reportedBy;
  }
  knownToPeer(v: bigint): boolean {
    return this.c.knownToPeer(v);
  }
}

/** A value built from the schema, kept until the schema cookie changes (a migration, from any connection). */
class BySchema<T> {
  private key: number | undefined;
  private value: T | undefined;
  constructor(private readonly build: () => T) {}
  get(cookie: number): T {
    if (this.key !== cookie || this.value === undefined) {
      this.value = this.build();
      this.key = cookie;
    }
    return this.value;
  }
}

/**
 * The serving side of a sync: what a hub does for one dataset, and what a client does to a peer
 * database file in direct peer-to-peer sync. Both transports call exactly these operations.
 */
export class ServedReplica {
  readonly site: Buffer;
  /** Prepared once per dataset: a hub asks it on every pull and every push that reports conflicts. */
  private conflictStore: ConflictStore | undefined;
  private resolutionStore: ResolutionStore | undefined;
  /** What info reports of the schema (read and hashed once per schema). */
  private readonly schema = new BySchema<ReplicatedSchema>(() => readReplicatedSchema(this.db));
  private readonly pushContext = new PushContext();
  /** One applier (and conflict detector) for every push: its statements follow the schema. */
  private readonly applier = new BySchema<ChangeApplier>(() => new ChangeApplier(this.db, this.pushContext));

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
      schema: this.schema.get(this.schemaCookie()),
      features: [...FEATURES],
    };
    if (site) {
      const peer = getPeer(this.db, site);
      info.received = cursorToJson(peer.received);
      if (peer.receivedAt !== null) info.receivedAt = peer.receivedAt;
    }
    return info;
  }

  /** How far this replica has committed a site's pushes (where its next push resumes). */
  received(site: Uint8Array): { version: string; seq: string } {
    return cursorToJson(getPeer(this.db, site).received);
  }

  /** The schema cookie: the key of everything cached from the schema (here and in a hub's pools). */
  schemaCookie(): number {
    return schemaCookie(this.db);
  }

  /** A separate connection for one long read (a pull stream), so writes can go on meanwhile. */
  openReader(): Store {
    return openStore(this.store.path, {});
  }

  /**
   * Pages of our stream after `since` for the site asking: what that site delivered is left
   * out (whatever site ids its changes carry; a change relayed by someone else reaches it, even
   * one carrying its own id). A pull writes nothing: anyone may claim a site id in a GET, so how
   * far a site has seen comes only with its own pushes (their `seen` header).
   */
  pull(reader: Db, site: Uint8Array, since: Cursor, pageSize: number): Generator<Page> {
    this.checkNotAhead(since.version, 'since');
    return readPages(reader, since, pageSize, { excludeDeliveredBy: site });
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
    return countChangesAfter(this.db, since, { excludeDeliveredBy: site }).total;
  }

  /** An applier for one push from `site`; `seen` is how far that site has pulled our stream. */
  pushApplier(site: Uint8Array, seen: bigint | undefined): (page: Page) => ApplyResult {
    if (Buffer.from(site).equals(this.site)) {
      throw new CrsyncError('same_site', 'a replica cannot sync with itself (same site id)', {
        hint: 'a copied database file shares its site id; use `crsync clone` to make a new replica',
      });
    }
    if (seen !== undefined) this.checkNotAhead(seen, 'seen');
    const known = getPeer(this.db, site).seen;
    const peerSeen = seen !== undefined && seen > known ? seen : known;
    const fromPeer = deliveredBy(this.db, site);
    const ctx: ApplyContext = {
      peerSite: site,
      remote: null,
      knownToPeer: (v) => v <= peerSeen || fromPeer(v),
      reportedBy: site,
    };
    // Bookkeeping moves only with a committed page: a refused push leaves the replica as it was.
    let pruned = false;
    return (page) => {
      const applier = this.applier.get(this.schemaCookie());
      this.pushContext.current = ctx;
      try {
        const result = applier.apply(page.changes, () => {
          if (seen !== undefined) notePeerSeen(this.db, site, seen);
          // A page moves the record only as far as changes it carries: an empty page's cursor
          // (an honest sender's last page, or someone claiming the site's id) moves nothing, and
          // the sender resumes from its own cursor (the later of the two).
          if (page.changes.length > 0) setPeerReceived(this.db, site, page.cursor);
          // The site has pulled our stream up to peerSeen: it never asks below it again. Once
          // per push (with its first committed page), not once per page.
          if (!pruned) {
            pruneDelivered(this.db, site, peerSeen);
            pruneTxlog(this.db);
          }
        });
        pruned = true;
        return result;
      } finally {
        this.pushContext.current = undefined;
      }
    };
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

  /** The dataset's version and newest conflict id: what a waiting live pull compares against. */
  changeMark(): { version: bigint; conflictId: bigint } {
    return { version: dbVersion(this.db), conflictId: this.conflicts().maxId() };
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

  private resolutions(): ResolutionStore {
    this.resolutionStore ??= new ResolutionStore(this.db);
    return this.resolutionStore;
  }

  /** Resolutions recorded here after `afterId` that `site` neither made nor delivered. */
  resolutionsFor(site: Uint8Array, afterId: bigint): { resolutions: WireResolution[]; lastId: bigint } {
    return this.resolutions().after(afterId, site);
  }

  /** Applies resolutions a site pushed (closing this replica's copies) and keeps them to relay. */
  recordResolutions(site: Uint8Array, list: WireResolution[]): void {
    const tables = new Set(listReplicatedTables(this.db));
    const known = list.filter((r) => tables.has(r.table));
    this.db.transaction(() => this.resolutions().receive(known, site, null))();
  }

  /**
   * Creates the dataset's schema or carries over additive changes. Anything that is not
   * additive is refused (schema_mismatch) and nothing changes.
   */
  applySchema(req: SchemaRequest, source: string): string[] {
    return applySchemaRequest(this.db, req, source);
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
