import { ChangeApplier, type ApplyContext } from '../../db/changes/apply.js';
import { ConflictStore } from '../../db/conflicts/store.js';
import { schemaCookie } from '../../db/statements.js';
import type { Db } from '../../db/store.js';
import type { DatasetInfo, StreamEnd } from '../protocol/types.js';

/** The context of a kept applier: each pull points it at its own `knownToPeer` before it applies. */
interface SessionContext extends ApplyContext {
  knownToPeer: (dbVersion: bigint) => boolean;
}

/**
 * What a live sync keeps from one pull to the next on its open replica, so a cycle costs one
 * request and no schema work: the remote's info while the hub vouches it unchanged (each pull
 * names it, and the end frame says whether it still holds), and the applier with its prepared
 * statements while the local schema stays the same.
 */
export class PullSession {
  private info: DatasetInfo | undefined;
  /** The local schema cookie `info` was compared with. */
  private infoCookie = -1;
  private kept: { key: string; applier: ChangeApplier; ctx: SessionContext; conflicts: ConflictStore } | undefined;

  /** The remote's info when the last pull vouched it and the local schema has not moved since; else undefined (ask). */
  vouchedInfo(db: Db): DatasetInfo | undefined {
    return this.info && this.infoCookie === schemaCookie(db) ? this.info : undefined;
  }

  /** What a pull names as the identity it knows, when the remote's info has a schema hash. */
  known(info: DatasetInfo): { site: string; schemaHash: string } | undefined {
    return typeof info.schema.hash === 'string' ? { site: info.siteId, schemaHash: info.schema.hash } : undefined;
  }

  /** After a pull: keep `info` only when the end frame vouched for it (an older hub never does). */
  settle(db: Db, info: DatasetInfo, end: StreamEnd): void {
    const holds = end.hubSite === info.siteId && end.schemaHash === info.schema.hash;
    this.info = holds ? info : undefined;
    this.infoCookie = schemaCookie(db);
  }

  /** Forgets the info (a failed pull: the next one asks the remote again). */
  reset(): void {
    this.info = undefined;
  }

  /** The applier and conflict store for pulls from `peerSite` under the current local schema. */
  applier(db: Db, peerSite: Buffer, remote: string, knownToPeer: (v: bigint) => boolean): { applier: ChangeApplier; conflicts: ConflictStore } {
    const key = `${peerSite.toString('hex')}.${remote}.${schemaCookie(db)}`;
    if (this.kept?.key !== key) {
      const ctx: SessionContext = { peerSite, remote, knownToPeer };
      this.kept = { key, applier: new ChangeApplier(db, ctx), ctx, conflicts: new ConflictStore(db) };
    }
    this.kept.ctx.knownToPeer = knownToPeer;
    return this.kept;
  }
}
