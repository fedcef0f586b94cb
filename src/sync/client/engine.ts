import { CrsyncError, SchemaMismatchError } from '../../errors.js';
import { ChangeApplier, readPages } from '../../db/changes/apply.js';
import { deliveredBy, pruneDelivered } from '../../db/changes/delivered.js';
import { pruneTxlog } from '../../db/txlog.js';
import { ReportedConflictCheck } from '../../db/conflicts/check.js';
import { ConflictStore, flipConflict } from '../../db/conflicts/store.js';
import { ResolutionStore } from '../../db/conflicts/resolutions.js';
import { applyAdditiveSchema } from '../../db/schema/apply.js';
import { getPeer, laterCursor, setPeerReceived } from '../../db/state/peers.js';
import { requireRemote, resetCursors, setPullCursor, setPushCursor, touchRemote, type RemoteRecord, setConflictsPulled, setConflictsReported, setResolutionsPulled, setResolutionsReported } from '../../db/state/remotes.js';
import { diffSchemas, describeExtras, divergedHint, type SchemaDiff } from '../../db/schema/diff.js';
import { readReplicatedSchema } from '../../db/schema/read.js';
import { openStore, siteId, type Store } from '../../db/store.js';
import { setImmediate } from 'node:timers/promises';
import { DEFAULT_PAGE_BYTES } from '../../db/changes/stream.js';
import { cursorFromJson } from '../protocol/codec.js';
import { DEFAULT_PAGE_SIZE, END_OF_VERSION, MAX_FRAME_BYTES, MAX_PAGE_SIZE, isAfter, type Cursor, type DatasetInfo, type Page, type WireConflict, type WireResolution } from '../protocol/types.js';
import { openTransport } from '../transports/open.js';
import { withRetries } from './retry.js';
import { snapshotInstead } from './snapshot-push.js';
import { notePartialPush } from './partial-push.js';
import type { Transport } from '../transports/transport.js';
import type { PullSession } from './pull-session.js';
import type { PullResult, PushResult, SyncOptions, SyncResult } from './results.js';

export type { PullResult, PushResult, ResolutionCounts, SyncOptions, SyncResult, TransferProgress } from './results.js';

/**
 * Bytes per pushed page: the default budget, within the hub's frame limit with room for the
 * frame's own overhead (a single change larger than the budget still travels alone).
 */
function pageBytesFor(info: DatasetInfo): number {
  const frame = info.limits?.maxFrameBytes ?? MAX_FRAME_BYTES;
  return Math.max(64 * 1024, Math.min(DEFAULT_PAGE_BYTES, Math.floor(frame / 2)));
}

/** The page size asked for, within what every peer accepts. */
function pageSizeOf(opts: SyncOptions): number {
  return Math.min(opts.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
}

/** A schema difference that stops a transfer: diverged (no migration mends it), or additive under --no-migrate. */
function mismatch(diff: SchemaDiff, what: string, url: string): SchemaMismatchError {
  const lines = diff.mismatches.length > 0 ? diff.mismatches : [what];
  const hint = diff.relation === 'diverged' ? divergedHint(diff, url) : 'the difference is additive: sync without --no-migrate to carry it over';
  return new SchemaMismatchError(`schema mismatch with the remote: ${lines.join('; ')}`, {
    mismatches: diff.mismatches,
    localOnly: describeExtras(diff.localExtras),
    remoteOnly: describeExtras(diff.remoteExtras),
  }, hint);
}

function checkIdentity(store: Store, remote: RemoteRecord, info: DatasetInfo): Buffer {
  const remoteSite = Buffer.from(info.siteId, 'hex');
  if (remoteSite.equals(siteId(store.db))) {
    throw new CrsyncError('same_site', `${remote.url} has this replica's own site id`, {
      hint: 'a copied database file shares its site id; make replicas with `crsync clone`',
    });
  }
  if (remote.remoteSite && !remote.remoteSite.equals(remoteSite)) {
    // The remote was re-created: its stream positions mean nothing any more. Start over
    // (merging is idempotent, so resending is safe).
    resetCursors(store.db, remote.name, remoteSite);
  }
  return remoteSite;
}

/** A pull's running totals (`tables`, when given, collects the tables its pages touched). */
export interface PullAcc {
  received: number;
  conflicts: number;
  /** Resolution records the remote sent. */
  resolutions: number;
  schema: string[];
  tables?: Set<string>;
}

/** One pull attempt on an open replica and transport (no retries): what live sync repeats. */
export async function pullOnce(store: Store, name: string, t: Transport, opts: SyncOptions, acc: PullAcc, session?: PullSession): Promise<void> {
  const db = store.db;
  const local = siteId(db);
  // A live sync's pull reuses the info its last pull's end frame vouched for: compared already.
  const vouched = session?.vouchedInfo(db);
  const info = vouched ?? (await t.info(local, opts.signal));
  const remoteSite = checkIdentity(store, requireRemote(db, name), info);
  if (!vouched) {
    const diff = diffSchemas(readReplicatedSchema(db).tables, info.schema.tables);
    if (diff.relation === 'diverged') throw mismatch(diff, '', t.url);
    if (diff.remoteExtras.tables.length + diff.remoteExtras.columns.length > 0) {
      if (opts.migrate === false) throw mismatch(diff, `the remote has ${describeExtras(diff.remoteExtras).join(', ')} (--no-migrate)`, t.url);
      acc.schema.push(...applyAdditiveSchema(db, diff.remoteExtras, `pull from ${name}`, info.schema.version));
    }
  }
  const remote = requireRemote(db, name);
  const peer = getPeer(db, remoteSite);
  // What the remote has of our stream: our pushes, or (a peer file) its own pulls from us.
  let pushed = laterCursor(remote.push, { version: peer.seen, seq: END_OF_VERSION });
  const fromPeer = deliveredBy(db, remoteSite);
  const knownToPeer = (v: bigint): boolean => v <= pushed.version || fromPeer(v);
  const kept = session?.applier(db, remoteSite, name, knownToPeer);
  const applier = kept?.applier ?? new ChangeApplier(db, { peerSite: remoteSite, remote: name, knownToPeer });
  // A peer file may also have pushed its stream to us: resume after whichever got further.
  const since = laterCursor(remote.pull, peer.received);
  const conflictStore = kept?.conflicts ?? new ConflictStore(db);
  // Read from the schema: only when a conflicts frame comes.
  let check: ReportedConflictCheck | undefined;
  // The remote passes on conflicts our writes were part of that it (or another client) found;
  // one that cannot be a conflict of our tables (forged, or another schema) is left out.
  const onConflicts = (list: WireConflict[], lastId: bigint): void => {
    if (list.length > 0) check ??= new ReportedConflictCheck(db);
    db.transaction(() => {
      for (const c of list) if (check!.problem(c) === null && conflictStore.record(c, name) !== null) acc.conflicts++;
      setConflictsPulled(db, name, lastId);
    })();
  };
  // Resolutions made elsewhere close our copies of their conflicts (after the conflicts frame,
  // so a conflict heard of in the same pull is closed too). Only a remote that says it has them.
  const resolutions = new ResolutionStore(db);
  const onResolutions = (list: WireResolution[], lastId: bigint): void => {
    db.transaction(() => {
      acc.conflicts += resolutions.receive(list, remoteSite, name);
      setResolutionsPulled(db, name, lastId);
    })();
    acc.resolutions += list.length;
  };
  const pullReq = {
    site: local, since, pageSize: pageSizeOf(opts), conflictsAfter: remote.conflictsPulled, onConflicts,
    waitMs: opts.waitMs,
    onAnswer: opts.onAnswer,
    known: session?.known(info),
    ...(hasResolutions(info) ? { resolutionsAfter: remote.resolutionsPulled, onResolutions } : {}),
  };
  // The pull's bookkeeping (pruning walks up to ten thousand index entries) rides in the first
  // page's transaction, once per pull (a live pull is mostly one page, so one commit); a pull
  // that brought no page does it alone.
  const bookkeep = (): void => {
    pruneDelivered(db, remoteSite, pushed.version);
    pruneTxlog(db);
    touchRemote(db, name, 'pull');
  };
  let booked = false;
  const end = await t.pull(pullReq, (page: Page) => {
    if (acc.tables) for (const c of page.changes) acc.tables.add(c[0]);
    const r = applier.apply(page.changes, (versions, before) => {
      if (versions) {
        // Nothing of ours is waiting below this merge: the push cursor moves past it, so the
        // next push starts at our next write instead of re-reading what the remote sent us.
        if (covers(pushed, before)) {
          pushed = { version: versions.last, seq: END_OF_VERSION };
          setPushCursor(db, name, pushed, remoteSite);
        }
      }
      setPullCursor(db, name, page.cursor, remoteSite);
      setPeerReceived(db, remoteSite, page.cursor);
      if (!booked) bookkeep();
    });
    booked = true;
    acc.received += r.received;
    acc.conflicts += r.conflicts.length;
    opts.onProgress?.({ phase: 'pull', changes: acc.received, bytes: t.stats.bytesReceived });
  }, opts.signal);
  if (!booked) db.transaction(bookkeep)();
  session?.settle(db, info, end);
}

/** True when the remote takes and relays resolutions (an older one would refuse their frame). */
function hasResolutions(info: DatasetInfo): boolean {
  return Array.isArray(info.features) && info.features.includes('resolutions');
}

/** True when a cursor in our stream stands at or after the end of `version` (0: nothing yet). */
function covers(c: Cursor, version: bigint): boolean {
  return version === 0n || c.version > version || (c.version === version && c.seq === END_OF_VERSION);
}

/** A push's running totals; `unacked` are the pages of an attempt the remote has not answered. */
export interface PushAcc {
  sent: number;
  conflicts: number;
  /** Resolution records the remote took. */
  resolutions: number;
  created: boolean;
  schema: string[];
  unacked: { cursor: Cursor; changes: number }[];
  /** Set when the push went as a snapshot. */
  via?: 'snapshot';
}

/** One push attempt on an open replica and transport (no retries): what live sync repeats. */
export async function pushOnce(store: Store, name: string, t: Transport, opts: SyncOptions, acc: PushAcc, keptReader?: Store): Promise<void> {
  const db = store.db;
  const local = siteId(db);
  const schema = readReplicatedSchema(db);
  let info: DatasetInfo;
  try {
    info = await t.info(local, opts.signal);
  } catch (err) {
    if (!(err instanceof CrsyncError) || err.code !== 'dataset_not_found') throw err;
    if (opts.create !== true) {
      throw new CrsyncError('dataset_not_found', err.message, { hint: `check the URL (crsync remote -v), or create the dataset with \`crsync push --create ${name}\`` });
    }
    if (await snapshotInstead(store, name, t, opts, acc, true)) return;
    await t.applySchema({ tables: schema.tables, version: schema.version }, opts.signal);
    acc.created = true;
    info = await t.info(local, opts.signal);
  }
  const remoteSite = checkIdentity(store, requireRemote(db, name), info);
  // An empty dataset takes a snapshot as a missing one does.
  if (info.dbVersion === '0' && (await snapshotInstead(store, name, t, opts, acc, false))) return;
  const diff = diffSchemas(schema.tables, info.schema.tables);
  if (diff.relation === 'diverged') throw mismatch(diff, '', t.url);
  if (diff.localExtras.tables.length + diff.localExtras.columns.length > 0) {
    if (opts.migrate === false) throw mismatch(diff, `this replica has ${describeExtras(diff.localExtras).join(', ')} (--no-migrate)`, t.url);
    await t.applySchema({ tables: schema.tables, version: schema.version }, opts.signal);
    acc.schema.push(...describeExtras(diff.localExtras));
  }
  const remote = requireRemote(db, name);
  if (BigInt(info.dbVersion) < remote.pull.version) {
    throw new CrsyncError('remote_behind', `${remote.url} is at version ${info.dbVersion}, behind the ${remote.pull.version} this replica pulled from it`, {
      hint: 'the remote was restored from an older copy: pushing would skip what it lost; make a new replica with `crsync clone`',
    });
  }
  // The remote's record of our pushes, or our own cursor when it stands later (it also moves
  // past what the remote delivered to us, which the remote never records as received).
  const start = laterCursor(cursorFromJson(info.received) ?? remote.push, remote.push);
  // An earlier attempt of this push that was cut got these pages committed: they were sent.
  for (const p of acc.unacked) if (!isAfter(start, p.cursor.version, p.cursor.seq)) acc.sent += p.changes;
  acc.unacked = [];
  // A live sync keeps its page reader open from push to push (loading cr-sqlite costs more than a small push).
  const reader = keptReader ?? openStore(store.path, {});
  // Pages within what the hub accepts (it says so in its info).
  const pageSize = Math.min(pageSizeOf(opts), info.limits?.maxPageSize ?? MAX_PAGE_SIZE);
  const filter = { excludeDeliveredBy: remoteSite, maxBytes: pageBytesFor(info) };
  let sent = 0;
  const conflicts = new ConflictStore(db);
  async function* pages(): AsyncGenerator<Page> {
    let turn = performance.now();
    for (const page of readPages(reader.db, start, pageSize, filter)) {
      // Our own later writes decide the cells of our open copies, as they do on every replica
      // they reach (there by the merge): the writer closes its copies as the push sends them.
      db.transaction(() => conflicts.supersedeBy(page.changes))();
      sent += page.changes.length;
      acc.unacked.push({ cursor: page.cursor, changes: page.changes.length });
      opts.onProgress?.({ phase: 'push', changes: acc.sent + sent, bytes: t.stats.bytesSent });
      yield page;
      // Reading pages is synchronous: give the sockets (and Ctrl-C) a turn now and then.
      if (performance.now() - turn > 50) {
        await setImmediate();
        turn = performance.now();
      }
    }
  }
  const source = pages();
  try {
    const seen = laterCursor(remote.pull, getPeer(db, remoteSite).received).version;
    // Conflicts found while pulling from this remote go back to it, so the other writer hears.
    const found = conflicts.detectedThrough(name, remote.conflictsReported);
    // Resolutions made here (or heard of from other remotes) go to it, so every copy closes.
    const resolved = hasResolutions(info) ? new ResolutionStore(db).after(remote.resolutionsReported, remoteSite) : undefined;
    const res = await t.push({ site: local, schemaHash: schema.hash, seen, conflicts: found.conflicts, resolutions: resolved?.resolutions }, source, opts.signal);
    db.transaction(() => {
      const acked = laterCursor(cursorFromJson(res.cursor)!, start);
      setPushCursor(db, name, acked, remoteSite);
      pruneDelivered(db, remoteSite, acked.version);
      pruneTxlog(db);
      setConflictsReported(db, name, found.lastId);
      if (resolved) setResolutionsReported(db, name, resolved.lastId);
      for (const c of res.conflicts) if (conflicts.record(flipConflict(c), name) !== null) acc.conflicts++;
      touchRemote(db, name, 'push');
    })();
    acc.sent += res.received;
    acc.resolutions += resolved?.resolutions.length ?? 0;
    acc.unacked = [];
  } finally {
    // A push that failed or was aborted mid-stream may leave the page reader suspended inside
    // its statement: end it first, or closing the reader fails ("connection is busy").
    await source.return(undefined);
    if (reader !== keptReader) reader.close();
  }
}

async function runWithRemote<T>(opts: SyncOptions, fn: (store: Store, name: string, t: Transport) => Promise<T>): Promise<{ value: T; url: string; bytes: number; ms: number }> {
  const started = performance.now();
  const store = openStore(opts.dbPath);
  try {
    const remote = requireRemote(store.db, opts.remote);
    const t = openTransport(remote.url, opts.env, remote.tokenEnv, { onRequest: opts.onRequest });
    try {
      const value = await fn(store, remote.name, t);
      return { value, url: remote.url, bytes: t.stats.bytesSent + t.stats.bytesReceived, ms: Math.round(performance.now() - started) };
    } finally {
      await t.close();
    }
  } finally {
    store.close();
  }
}

/** Push attempts; when the last fails with pages unanswered, what landed is kept (notePartialPush). */
async function pushWithRetries(store: Store, name: string, t: Transport, opts: SyncOptions, acc: PushAcc): Promise<void> {
  try {
    await withRetries(() => pushOnce(store, name, t, opts, acc), { ...opts.retry, signal: opts.signal });
  } catch (err) {
    await notePartialPush(store, name, t, acc.unacked.length > 0);
    throw err;
  }
}

/** Pulls what the remote has that we have not seen; resumes from the last committed page. */
export async function pullChanges(opts: SyncOptions): Promise<PullResult> {
  const acc: PullAcc = { received: 0, conflicts: 0, resolutions: 0, schema: [] };
  const r = await runWithRemote(opts, (store, name, t) =>
    withRetries(() => pullOnce(store, name, t, opts, acc), { ...opts.retry, signal: opts.signal }),
  );
  const resolutions = { sent: 0, received: acc.resolutions };
  return { remote: opts.remote, url: r.url, sent: 0, received: acc.received, conflicts: acc.conflicts, resolutions, schemaChanges: acc.schema, bytes: r.bytes, ms: r.ms };
}

/** Pushes what the remote has not acknowledged; resumes from what the remote committed. */
export async function pushChanges(opts: SyncOptions): Promise<PushResult> {
  const acc: PushAcc = { sent: 0, conflicts: 0, resolutions: 0, created: false, schema: [], unacked: [] };
  const r = await runWithRemote(opts, (store, name, t) => pushWithRetries(store, name, t, opts, acc));
  const resolutions = { sent: acc.resolutions, received: 0 };
  return { remote: opts.remote, url: r.url, sent: acc.sent, received: 0, conflicts: acc.conflicts, resolutions, created: acc.created, via: acc.via ?? 'changes', schemaChanges: acc.schema, bytes: r.bytes, ms: r.ms };
}

/** Pull, then push. */
export async function syncChanges(opts: SyncOptions): Promise<SyncResult> {
  const pullAcc: PullAcc = { received: 0, conflicts: 0, resolutions: 0, schema: [] };
  const pushAcc: PushAcc = { sent: 0, conflicts: 0, resolutions: 0, created: false, schema: [], unacked: [] };
  const r = await runWithRemote(opts, async (store, name, t) => {
    await withRetries(() => pullOnce(store, name, t, opts, pullAcc), { ...opts.retry, signal: opts.signal });
    await pushWithRetries(store, name, t, opts, pushAcc);
  });
  return {
    remote: opts.remote,
    url: r.url,
    sent: pushAcc.sent,
    received: pullAcc.received,
    conflicts: pullAcc.conflicts + pushAcc.conflicts,
    via: pushAcc.via ?? 'changes',
    resolutions: { sent: pushAcc.resolutions, received: pullAcc.resolutions },
    schemaChanges: [...pullAcc.schema, ...pushAcc.schema],
    bytes: r.bytes,
    ms: r.ms,
  };
}
