import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CrsyncError, UsageError, toCrsyncError } from '../../errors.js';
import { watchCommits } from '../../db/commit-watch.js';
import { countChangesAfter } from '../../db/changes/apply.js';
import { ConflictStore } from '../../db/conflicts/store.js';
import { ResolutionStore } from '../../db/conflicts/resolutions.js';
import { listConflicts, type ConflictView } from '../../db/conflicts/list.js';
import { requireRemote } from '../../db/state/remotes.js';
import { dbVersion, openStore, type Store } from '../../db/store.js';
import { END_OF_VERSION } from '../protocol/types.js';
import { PullSession } from './pull-session.js';
import { isHttpUrl, openTransport } from '../transports/open.js';
import { LIVE_GRACE_MS } from '../transports/http.js';
import type { Transport } from '../transports/transport.js';
import { pullOnce, pushOnce, type PullAcc, type PushAcc, type SyncOptions } from './engine.js';
import { Breaker, DEFAULT_BACKOFF, type BackoffOptions, type LiveState } from './live-breaker.js';
import { acquireWatchLock } from './watch-lock.js';

export type { LiveState, BackoffOptions };

/** Options of a live sync. Nothing is read from the process: pass what it needs. */
export interface LiveSyncOptions {
  dbPath: string;
  remote: string;
  /** Where remotes' tokens are read from (`CRSYNC_TOKEN` or the remote's `--token-env`). */
  env: Record<string, string | undefined>;
  /** Aborting it stops the sync (as `stop()`). */
  signal?: AbortSignal;
  pageSize?: number;
  migrate?: boolean;
  /** How long the hub holds a live pull when nothing comes (default 25 s; hubs cap it at 30 s). */
  waitMs?: number;
  /**
   * How long the hub may stay silent — on any request but a push, and past a held pull's wait —
   * before the request fails and the sync reconnects (default 10 s): a hub that accepts the
   * connection and never answers costs that, not an ordinary request's two minutes.
   */
  silenceMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Fallback look for local commits when no file event came (default 2 s). */
  pollMs?: number;
  /** The pid the file's watch lock names (default this process's). */
  pid?: number;
}

/** The `status` event. */
export interface LiveStatus {
  state: LiveState;
  /** When this state began (ISO time). */
  since: string;
  /** The last pull or push that succeeded (ISO time), or null. */
  lastSyncedAt: string | null;
  /** Local changes the remote has not acknowledged yet. */
  pending: number;
  /** What made it leave `live` (a CrsyncError's JSON), when something did. */
  error?: Record<string, unknown>;
}

/** The `pushed` and `pulled` events. */
export interface LiveTransfer {
  changes: number;
  ms: number;
}

/** The `change` event: remote changes applied to the replica. */
export interface LiveChange {
  tables: string[];
  changes: number;
}

/** A pull that carried nothing and came back this fast did not wait: more than a few in a row, and the loop slows. */
const SPIN_MS = 20;

/**
 * Background live sync of one replica with one hub: a loop of live pulls (held by the hub until
 * something commits) applies remote changes as they come, and local commits — by any connection
 * or process — are pushed as they happen. Failures back off with full jitter behind a circuit
 * breaker. Events: `status` (LiveStatus, one per state change), `pushed`/`pulled` (LiveTransfer),
 * `change` (LiveChange), `conflict` (ConflictView). One live sync per file (a lock naming its pid).
 */
export class LiveSync extends EventEmitter {
  private readonly abort = new AbortController();
  private readonly breaker: Breaker;
  private readonly o: LiveSyncOptions & { waitMs: number };
  private state: LiveState = 'connecting';
  private stateSince = new Date().toISOString();
  private lastSyncedAt: string | null = null;
  private store!: Store;
  private transport!: Transport;
  private name!: string;
  private cleanup: (() => void)[] = [];
  private pushWanted = true;
  private wake: (() => void) | undefined;
  private lastConflict = 0n;
  /** Prepared on first use (statements on the open store). */
  private resolutions: ResolutionStore | undefined;
  private fatal: CrsyncError | undefined;
  /** What one pull leaves to the next (the vouched info, the applier). */
  private readonly session = new PullSession();
  private reader: Store | undefined;
  private finished: Promise<void> = Promise.resolve();
  private started = false;

  constructor(options: LiveSyncOptions) {
    super();
    this.o = { waitMs: 25_000, ...options };
    this.breaker = new Breaker({ ...DEFAULT_BACKOFF, ...Object.fromEntries(Object.entries(options.backoff ?? {}).filter(([, v]) => v !== undefined)) });
  }

  /** Takes the file's lock and starts; throws (watch_running, no_such_remote…) before anything runs. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    const release = acquireWatchLock(this.o.dbPath, this.o.pid ?? process.pid);
    this.cleanup.push(release);
    try {
      this.store = openStore(this.o.dbPath);
      this.cleanup.unshift(() => this.store.close());
      const remote = requireRemote(this.store.db, this.o.remote);
      if (!isHttpUrl(remote.url)) {
        throw new UsageError(`live sync needs a hub: remote ${remote.name} is the file ${remote.url}`, 'sync a hub (crsync serve), or run `crsync sync` between files when needed');
      }
      this.name = remote.name;
      this.transport = openTransport(remote.url, this.o.env, remote.tokenEnv, { silenceMs: this.o.silenceMs ?? LIVE_GRACE_MS });
      this.cleanup.unshift(() => void this.transport.close());
      this.lastConflict = new ConflictStore(this.store.db).maxId();
      const watcher = watchCommits(this.store.path, { onCommit: () => this.kick(), onGone: (e) => this.fail(e), pollMs: this.o.pollMs });
      this.cleanup.unshift(() => watcher.close());
    } catch (err) {
      this.close();
      throw err;
    }
    const onAbort = (): void => void this.stop();
    this.o.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.o.signal?.aborted) this.abort.abort();
    this.cleanup.unshift(() => this.o.signal?.removeEventListener('abort', onAbort));
    // Listeners are attached after start() returns: the first status goes out on the next turn.
    this.finished = new Promise<void>((r) => setImmediate(r))
      .then(() => {
        this.emit('status', this.status);
        return Promise.all([this.pullLoop(), this.pushLoop()]);
      })
      .then(() => {
        this.close();
        this.setState('stopped', this.fatal);
        if (this.fatal) throw this.fatal;
      });
    // A caller that only listens to events must not see an unhandled rejection.
    this.finished.catch(() => {});
    return this;
  }

  /** The current status (as the last `status` event said, with `pending` counted now). */
  get status(): LiveStatus {
    const s: LiveStatus = { state: this.state, since: this.stateSince, lastSyncedAt: this.lastSyncedAt, pending: this.pending() };
    if (this.lastError && this.state !== 'live') s.error = this.lastError;
    return s;
  }

  /** Stops: the page in hand is finished, requests are ended, the lock released. Resolves when all is closed. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.finished.catch(() => {});
  }

  /** Resolves when the sync has stopped; rejects with what stopped it if that was an error (the file gone…). */
  done(): Promise<void> {
    return this.finished;
  }

  private lastError: Record<string, unknown> | undefined;

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private setState(state: LiveState, err?: CrsyncError): void {
    if (err) this.lastError = err.toJSON();
    if (state === this.state) return;
    this.state = state;
    this.stateSince = new Date().toISOString();
    this.emit('status', this.status);
  }

  /** A local commit (or a reason to look): push when live. */
  private kick(): void {
    this.pushWanted = true;
    this.wake?.();
  }

  private fail(err: CrsyncError): void {
    this.fatal ??= err;
    this.abort.abort();
    this.wake?.();
  }

  private pending(): number {
    if (this.state === 'stopped' || !this.store?.db.open) return 0;
    const remote = requireRemote(this.store.db, this.name);
    // Nothing written since the push cursor (a pull's merge moves it too): no need to count.
    if (remote.push.seq === END_OF_VERSION && dbVersion(this.store.db) <= remote.push.version) return 0;
    return countChangesAfter(this.store.db, remote.push, remote.remoteSite ? { excludeDeliveredBy: remote.remoteSite } : {}).total;
  }

  /**
   * Resolutions made here (or heard of from other remotes) that the remote has not been sent: one
   * that keeps the winner writes no change, so `pending` alone would never push it.
   */
  private resolutionsPending(): boolean {
    if (this.state === 'stopped' || !this.store?.db.open) return false;
    const remote = requireRemote(this.store.db, this.name);
    if (!remote.remoteSite) return false;
    this.resolutions ??= new ResolutionStore(this.store.db);
    return this.resolutions.anyAfter(remote.resolutionsReported, remote.remoteSite);
  }

  private syncOptions(waitMs?: number, onAnswer?: () => void): SyncOptions {
    return { dbPath: this.o.dbPath, remote: this.name, env: this.o.env, pageSize: this.o.pageSize, migrate: this.o.migrate, signal: this.abort.signal, waitMs, onAnswer };
  }

  private succeeded(): void {
    this.breaker.succeeded();
    this.lastSyncedAt = new Date().toISOString();
    if (this.state !== 'live') {
      this.lastError = undefined;
      this.setState('live');
      this.kick();
    }
  }

  /** Handles a failed request; resolves false when the loop should end. */
  private async failed(err: unknown): Promise<boolean> {
    const e = toCrsyncError(err);
    const v = this.breaker.onFailure(e);
    if (v.kind === 'fatal') {
      this.fail(e);
      return false;
    }
    if (v.kind === 'needs_auth') {
      this.setState('needs_auth', e);
      return false;
    }
    this.setState(v.state, e);
    await sleep(v.delayMs, undefined, { signal: this.abort.signal }).catch(() => {});
    return !this.stopping;
  }

  private async pullLoop(): Promise<void> {
    let spins = 0;
    while (!this.stopping) {
      const started = performance.now();
      // Transfer time counts from the end of the hold (the hub's answer), not from the ask.
      let answered = started;
      const waitMs = this.state === 'live' ? this.o.waitMs : undefined;
      const acc: PullAcc = { received: 0, conflicts: 0, resolutions: 0, schema: [], tables: new Set() };
      try {
        await pullOnce(this.store, this.name, this.transport, this.syncOptions(waitMs, () => (answered = performance.now())), acc, this.session);
      } catch (err) {
        this.session.reset();
        if (this.stopping || !(await this.failed(err))) break;
        continue;
      }
      this.succeeded();
      const ms = Math.round(performance.now() - started);
      if (acc.received > 0) {
        this.emit('pulled', { changes: acc.received, ms: Math.round(performance.now() - answered) } satisfies LiveTransfer);
        this.emit('change', { tables: [...acc.tables!].sort(), changes: acc.received } satisfies LiveChange);
      }
      if (acc.conflicts > 0) this.emitConflicts();
      // A hub that answers held pulls at once with nothing is not waiting: do not spin on it.
      spins = waitMs && acc.received === 0 && ms < SPIN_MS ? spins + 1 : 0;
      if (spins > 3) await sleep(1000, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }

  private async pushLoop(): Promise<void> {
    while (!this.stopping) {
      if (!this.pushWanted) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      this.pushWanted = false;
      if (this.stopping) break;
      // Not connected: the pull loop kicks again when it is.
      if (this.state !== 'live' || (this.pending() === 0 && !this.resolutionsPending())) continue;
      const started = performance.now();
      const acc: PushAcc = { sent: 0, conflicts: 0, resolutions: 0, created: false, schema: [], unacked: [] };
      try {
        await pushOnce(this.store, this.name, this.transport, this.syncOptions(), acc, this.pushReader());
      } catch (err) {
        if (this.stopping) break;
        const e = toCrsyncError(err);
        const v = this.breaker.onFailure(e);
        if (v.kind === 'fatal') this.fail(e);
        else if (v.kind === 'needs_auth') this.setState('needs_auth', e);
        else {
          this.setState(v.state, e);
          // Try again after the backoff, even if the pull side stays connected.
          setTimeout(() => this.kick(), v.delayMs).unref();
        }
        continue;
      }
      this.breaker.succeeded();
      this.lastSyncedAt = new Date().toISOString();
      if (acc.sent > 0) this.emit('pushed', { changes: acc.sent, ms: Math.round(performance.now() - started) } satisfies LiveTransfer);
      if (acc.conflicts > 0) this.emitConflicts();
    }
  }

  /** The connection pushes read their pages from, opened on the first push and kept until the sync stops. */
  private pushReader(): Store {
    if (!this.reader) {
      const reader = openStore(this.o.dbPath, {});
      this.reader = reader;
      this.cleanup.unshift(() => reader.close());
    }
    return this.reader;
  }

  private emitConflicts(): void {
    for (const c of listConflicts(this.store.db, { all: true })) {
      if (BigInt(c.id) <= this.lastConflict) continue;
      this.lastConflict = BigInt(c.id);
      this.emit('conflict', c satisfies ConflictView);
    }
  }

  private close(): void {
    for (const f of this.cleanup.splice(0)) {
      try {
        f();
      } catch {
        // closing what is left matters more than one failure to close
      }
    }
  }
}
