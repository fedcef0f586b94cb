import { randomBytes } from 'node:crypto';
import { countChangesAfter } from '../../db/changes/apply.js';
import { getPeer, laterCursor } from '../../db/state/peers.js';
import type { Cursor } from '../protocol/types.js';

import { countOpenConflicts } from '../../db/conflicts/list.js';
import { clonePending } from '../../db/state/clone.js';
import { listRemotes, requireRemote, type RemoteRecord } from '../../db/state/remotes.js';
import { replicatedTableInfo, type TableInfo } from '../../db/replica.js';
import { readReplicatedSchema } from '../../db/schema/read.js';
import { dbVersion, openStore, siteId, type Db } from '../../db/store.js';
import { ExitCode, toCrsyncError } from '../../errors.js';
import { DEFAULT_PAGE_SIZE, END_OF_VERSION } from '../protocol/types.js';
import { openTransport } from '../transports/open.js';
import type { RequestObserver, Transport } from '../transports/transport.js';
import { cursorFromJson } from '../protocol/codec.js';

/** How long status waits for a remote to count what it has for us (`--timeout`). */
export const STATUS_TIMEOUT_MS = 5_000;

/** Options of `crsync status`. */
export interface StatusOptions {
  dbPath: string;
  /** Only this remote (default: all). */
  remote?: string;
  env: NodeJS.ProcessEnv;
  /** Do not contact remotes: unpulled stays unknown. */
  offline?: boolean;
  timeoutMs?: number;
  /** Told of each HTTP request once it ended (`-v`). */
  onRequest?: RequestObserver;
}

/** One remote's side of `crsync status`. */
export interface RemoteStatus {
  name: string;
  url: string;
  /** Answered the count; null when not asked (--offline). */
  reachable: boolean | null;
  /** Local changes the remote has not acknowledged. */
  unpushed: number;
  unpushedByTable: Record<string, number>;
  /** Changes on the remote not pulled yet; null when unknown. */
  unpulled: number | null;
  lastPush: string | null;
  lastPull: string | null;
  /** Why unpulled is unknown. */
  note?: string;
}

/** Result of `crsync status`. */
export interface StatusResult {
  db: string;
  siteId: string;
  dbVersion: bigint;
  schema: { version: number; hash: string };
  tables: TableInfo[];
  /** Open conflicts. */
  conflicts: number;
  /** The URL of a clone that stopped before its end (`crsync pull` finishes it), or null. */
  cloneUnfinished: string | null;
  remotes: RemoteStatus[];
  /** Whether remotes were asked (false with --offline: unpulled is then unknown). */
  checkedRemotes: boolean;
  /** Nothing unpushed, unpulled (as far as known) or in conflict. */
  inSync: boolean;
}

interface LocalRemote {
  remote: RemoteRecord;
  /** Where a pull from this remote would start. */
  pulledFrom: Cursor;
  /** How far this replica knows the remote has our stream (what unpushed counts from). */
  pushedTo: Cursor;
  status: RemoteStatus;
}

/** What a remote says of our stream: how far it committed our pushes, and when it last did. */
interface RemoteRecordOfUs {
  received: Cursor;
  at: string | null;
}

/**
 * The state of a replica and of each remote. Local facts come from the file; what a remote has
 * for us is asked with a short timeout and is `unknown` (null, with a note) when the remote is
 * down or `offline` is set: status never fails because a remote does.
 */
export async function replicaStatus(opts: StatusOptions): Promise<StatusResult> {
  const store = openStore(opts.dbPath, { inspect: true });
  try {
    const db = store.db;
    const local = siteId(db);
    const remotes = opts.remote !== undefined ? [requireRemote(db, opts.remote)] : listRemotes(db);
    const locals: LocalRemote[] = remotes.map((remote) => {
      // As sync does: what a peer file pulled from us, or pushed to us, counts as exchanged too
      // (a peer that pulled our stream up to a version has all of that version).
      const peer = remote.remoteSite ? getPeer(db, remote.remoteSite) : undefined;
      const pushedTo = peer ? laterCursor(remote.push, { version: peer.seen, seq: END_OF_VERSION }) : remote.push;
      const pulledFrom = peer ? laterCursor(remote.pull, peer.received) : remote.pull;
      const filter = remote.remoteSite ? { excludeDeliveredBy: remote.remoteSite } : {};
      const pending = countChangesAfter(db, pushedTo, filter);
      return {
        remote,
        pulledFrom,
        pushedTo,
        status: {
          name: remote.name,
          url: remote.url,
          reachable: null,
          unpushed: pending.total,
          unpushedByTable: pending.byTable,
          unpulled: null,
          lastPush: remote.lastPush,
          lastPull: remote.lastPull,
        },
      };
    });
    const schema = readReplicatedSchema(db);
    const result: StatusResult = {
      db: store.path,
      siteId: local.toString('hex'),
      dbVersion: dbVersion(db),
      schema: { version: schema.version, hash: schema.hash },
      tables: replicatedTableInfo(db),
      conflicts: countOpenConflicts(db),
      cloneUnfinished: clonePending(db),
      remotes: locals.map((l) => l.status),
      checkedRemotes: opts.offline !== true,
      inSync: false,
    };
    if (opts.offline) {
      for (const l of locals) l.status.note = 'not asked (--offline)';
    } else {
      // The file stays open meanwhile (a read connection, no transaction held): a remote that
      // committed pages of a push cut before its answer says so, and unpushed counts from there.
      const records = await Promise.all(locals.map((l) => askRemote(l, local, opts)));
      locals.forEach((l, i) => adoptRemoteRecord(db, l, records[i] ?? null));
    }
    result.inSync =
    result.conflicts === 0 &&
    result.cloneUnfinished === null &&
      result.remotes.every((r) => r.unpushed === 0 && (r.unpulled === 0 || (r.unpulled === null && opts.offline === true)));
    return result;
  } finally {
    store.close();
  }
}

/**
 * A push cut before its answer leaves our cursor behind what the remote committed: count what
 * is unpushed from the remote's record, and take its time as the last push, when they are later.
 */
function adoptRemoteRecord(db: Db, l: LocalRemote, record: RemoteRecordOfUs | null): void {
  if (!record) return;
  const later = laterCursor(record.received, l.pushedTo);
  if (later !== l.pushedTo) {
    const filter = l.remote.remoteSite ? { excludeDeliveredBy: l.remote.remoteSite } : {};
    const pending = countChangesAfter(db, later, filter);
    l.status.unpushed = pending.total;
    l.status.unpushedByTable = pending.byTable;
  }
  if (record.at !== null && (l.status.lastPush === null || Date.parse(record.at) > Date.parse(l.status.lastPush))) l.status.lastPush = record.at;
}

/** Asks one remote what it has for us (the count) and what it has of us (its record), at once. */
async function askRemote(l: LocalRemote, local: Buffer, opts: StatusOptions): Promise<RemoteRecordOfUs | null> {
  const t = openTransport(l.remote.url, opts.env, l.remote.tokenEnv, { onRequest: opts.onRequest });
  const timeoutMs = opts.timeoutMs ?? STATUS_TIMEOUT_MS;
  // Never rejects, and ends within timeoutMs: closing the transport waits for it, so a refused
  // count does not cut the other request off mid-way (verbose output would show it reset).
  const asked = recordOfUs(t, local, l.remote, timeoutMs);
  try {
    const [count, record] = await Promise.all([t.countPending({ site: local, since: l.pulledFrom, pageSize: DEFAULT_PAGE_SIZE }, timeoutMs), asked]);
    l.status.reachable = true;
    l.status.unpulled = count;
    return record;
  } catch (err) {
    const e = toCrsyncError(err);
    // Down or answering 5xx is unreachable; slow, or a refusal (auth, no such dataset), is an answer.
    l.status.reachable = e.code === 'remote_slow' || !(e.exitCode === ExitCode.unreachable || e.code === 'remote_unavailable' || e.code === 'internal');
    l.status.note = e.code === 'internal' ? (err instanceof Error ? err.message : String(err)) : e.message;
    await asked;
    return null;
  } finally {
    await t.close().catch(() => undefined);
  }
}

/**
 * The remote's record of our pushes (its info), or null when it cannot tell in time, or it is
 * another replica than the one our cursors are of (re-created: the next sync starts over).
 */
async function recordOfUs(t: Transport, local: Buffer, remote: RemoteRecord, timeoutMs: number): Promise<RemoteRecordOfUs | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
  try {
    const info = await Promise.race([t.info(local).catch(() => null), late]);
    const received = info ? cursorFromJson(info.received) : null;
    if (!info || !received || (remote.remoteSite && !remote.remoteSite.equals(Buffer.from(info.siteId, 'hex')))) return null;
    return { received, at: info.receivedAt ?? null };
  } finally {
    clearTimeout(timer);
  }
}

/** What a push and a pull with one remote would move: the totals of a progress line (null: unknown). */
export async function transferTotals(opts: { dbPath: string; remote: string; env: NodeJS.ProcessEnv; timeoutMs?: number; onRequest?: RequestObserver }): Promise<{ push: number | null; pull: number | null }> {
  try {
    const s = await replicaStatus({ ...opts, timeoutMs: opts.timeoutMs ?? 2000 });
    const r = s.remotes[0];
    return { push: r?.unpushed ?? null, pull: r?.unpulled ?? null };
  } catch {
    // The transfer itself reports what is wrong; progress just goes without a total.
    return { push: null, pull: null };
  }
}

/** How many changes a clone of `url` would bring (its whole stream), or null when it cannot say. */
export async function countAll(url: string, env: NodeJS.ProcessEnv, timeoutMs = 2000, onRequest?: RequestObserver): Promise<number | null> {
  const t = openTransport(url, env, undefined, { onRequest });
  try {
    // A new replica's site has written nothing: any fresh id counts the whole stream.
    return await t.countPending({ site: randomBytes(16), since: { version: 0n, seq: -1n }, pageSize: DEFAULT_PAGE_SIZE }, timeoutMs);
  } catch {
    return null;
  } finally {
    await t.close().catch(() => undefined);
  }
}
