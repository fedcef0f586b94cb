import { resolve } from 'node:path';
import { CrsyncError } from '../errors.js';
import { useExtensionPath } from '../db/extension.js';
import { initReplica, trackTables, type TrackResult } from '../db/replica.js';
import { openStore, dbVersion, type Db, type Store } from '../db/store.js';
import { listConflicts, type ConflictSelection, type ConflictView } from '../db/conflicts/list.js';
import { resolveConflicts, type ResolveDecision, type ResolveResult } from '../db/conflicts/resolve.js';
import { addRemote, listRemotes } from '../db/state/remotes.js';
import { pullChanges, pushChanges, syncChanges, type PullResult, type PushResult, type SyncOptions, type SyncResult } from '../sync/client/engine.js';
import { replicaStatus, type StatusResult } from '../sync/client/status.js';
import { LiveSync, type LiveSyncOptions } from '../sync/client/live.js';
import { QueryWatcher, type WatchCallback } from './watch.js';

/** Options of `openReplica`. The library reads no process state: pass what it needs. */
export interface OpenReplicaOptions {
  /** Environment for remotes' tokens (`CRSYNC_TOKEN`, or a remote's `--token-env`) and retries. Default: none. */
  env?: Record<string, string | undefined>;
  /** Create and initialise the file when missing (default true). */
  create?: boolean;
  /** Another cr-sqlite build (as `CRSYNC_CRSQLITE_PATH` for the CLI). */
  extensionPath?: string;
}

/** Options of one transfer (the CLI's `--page-size`, `--no-migrate`). */
export interface TransferOptions {
  pageSize?: number;
  migrate?: boolean;
  signal?: AbortSignal;
  /** A first push into a missing or empty dataset uploads a snapshot of the replica (the CLI's default; here off unless true). */
  snapshot?: boolean;
}

/** Options of a push: `create: true` is the CLI's `push --create` (a missing dataset is made). */
export interface PushOptions extends TransferOptions {
  create?: boolean;
}

/** Options of `startSync` (the remote, the file and the environment come from the replica). */
export type StartSyncOptions = Omit<LiveSyncOptions, 'dbPath' | 'remote' | 'env'>;

/** Files open in this process: one Replica per file, so two never race on bookkeeping. */
const open = new Map<string, Replica>();

/** A replica opened by an app: its database connection and crsync's operations on it. */
export class Replica {
  private closed = false;
  private readonly watcher: QueryWatcher;
  private readonly live = new Set<LiveSync>();

  /** @internal Use `openReplica`. */
  constructor(
    private readonly store: Store,
    private readonly env: Record<string, string | undefined>,
  ) {
    this.watcher = new QueryWatcher(store.db, () => dbVersion(store.db));
  }

  /** The better-sqlite3 connection to read and write with (cr-sqlite loaded: writes replicate). */
  get db(): Db {
    this.check();
    return this.store.db;
  }

  /** Absolute path of the file. */
  get path(): string {
    return this.store.path;
  }

  /** Makes tables replicated (`crsync track`). */
  track(...tables: string[]): TrackResult {
    this.check();
    return trackTables(this.store, tables);
  }

  /** Adds a remote (`crsync remote add`); a no-op when one of that name and URL exists. */
  addRemote(name: string, url: string, tokenEnv?: string): void {
    this.check();
    const known = listRemotes(this.store.db).find((r) => r.name === name);
    if (known?.url === url) return;
    addRemote(this.store.db, name, url, tokenEnv);
  }

  /** One pull, then one push: the same object as `crsync sync --json`. */
  async sync(remote = 'origin', opts: TransferOptions = {}): Promise<SyncResult> {
    return this.afterTransfer(await syncChanges(this.transfer(remote, opts)));
  }

  /**
   * `crsync push --json`. A missing dataset is `dataset_not_found` unless `create: true`
   * (`push --create`), as in the CLI: a typo in a URL must not make a dataset.
   */
  async push(remote = 'origin', opts: PushOptions = {}): Promise<PushResult> {
    return this.afterTransfer(await pushChanges(this.transfer(remote, opts, opts.create === true)));
  }

  /** `crsync pull --json`. */
  async pull(remote = 'origin', opts: TransferOptions = {}): Promise<PullResult> {
    return this.afterTransfer(await pullChanges(this.transfer(remote, opts)));
  }

  /** `crsync status --json` (`offline`: ask no remote). */
  async status(opts: { remote?: string; offline?: boolean; timeoutMs?: number } = {}): Promise<StatusResult> {
    this.check();
    return replicaStatus({ dbPath: this.path, env: this.env, ...opts });
  }

  /** `crsync conflicts --json`: open ones, or all with `{ all: true }`. */
  conflicts(sel: ConflictSelection = {}): ConflictView[] {
    this.check();
    return listConflicts(this.store.db, sel);
  }

  /** `crsync resolve`: each decision keeps ours, theirs, or a value; the result as `--json`. */
  resolve(decisions: ResolveDecision[]): ResolveResult {
    this.check();
    const r = resolveConflicts(this.store.db, decisions);
    this.watcher.poke();
    return r;
  }

  /**
   * Runs `sql` now and again whenever the replica changes (a local write through any connection,
   * or a merge), calling back with the rows when they differ from the last call. Returns the
   * function that stops watching.
   */
  watch(sql: string, params: unknown[], callback: WatchCallback): () => void {
    this.check();
    return this.watcher.add(sql, params, callback);
  }

  /**
   * Starts background live sync with a hub (as `crsync sync --watch`) and returns its emitter:
   * `status` (`{ state, since, lastSyncedAt, pending }`), `change` (`{ tables, changes }`, after
   * which watched queries re-run at once), `conflict` (as `conflicts()` shows one), `pushed` and
   * `pulled`. Throws `watch_running` when the file is synced live already (by this or another
   * process). `await live.stop()` ends it; `close()` stops it too.
   */
  startSync(remote = 'origin', opts: StartSyncOptions = {}): LiveSync {
    this.check();
    const live = new LiveSync({ ...opts, dbPath: this.path, remote, env: this.env });
    live.on('change', () => this.watcher.poke());
    live.start();
    this.live.add(live);
    void live.done().catch(() => {}).finally(() => this.live.delete(live));
    return live;
  }

  /** Stops live syncs and every watch, and closes the connection (cr-sqlite finalised). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // stop() aborts at once (its requests end, its own connections close as it unwinds).
    for (const live of this.live) void live.stop();
    this.live.clear();
    this.watcher.stop();
    this.store.close();
    open.delete(this.store.path);
  }

  /** Only a push creates, and only when asked: sync and pull never make a dataset. */
  private transfer(remote: string, opts: TransferOptions, create = false): SyncOptions {
    this.check();
    return { dbPath: this.path, remote, env: this.env, pageSize: opts.pageSize, migrate: opts.migrate, signal: opts.signal, snapshot: opts.snapshot, create };
  }

  private afterTransfer<T>(result: T): T {
    this.watcher.poke();
    return result;
  }

  private check(): void {
    if (this.closed) throw new CrsyncError('replica_closed', `${this.store.path} was closed`, { hint: 'open it again with openReplica' });
  }
}

/**
 * Opens a replica file for an app: created and initialised when new (unless `create: false`),
 * cr-sqlite loaded. A file is open once per process: a second open refuses, naming the first.
 */
export function openReplica(path: string, options: OpenReplicaOptions = {}): Replica {
  const abs = resolve(path);
  if (open.has(abs)) {
    throw new CrsyncError('replica_open', `${abs} is already open in this process`, {
      hint: 'use the Replica that openReplica returned, or close() it first',
    });
  }
  if (options.extensionPath !== undefined) useExtensionPath(options.extensionPath);
  if (options.create !== false) initReplica(abs);
  const store = openStore(abs);
  const replica = new Replica(store, options.env ?? {});
  open.set(store.path, replica);
  return replica;
}
