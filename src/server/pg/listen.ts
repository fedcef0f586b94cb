import type { Client, ClientBase, Notification } from 'pg';
import { COLLAPSE_MS } from '../notifier.js';

/** The channel every hub process on one database listens on; the payload is the dataset's id. */
export const CHANNEL = 'crsync_changes';

/** Tells every hub process that `dataset` changed (delivered when `c`'s transaction commits). */
export async function notifyChange(c: ClientBase, dataset: bigint | string): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [CHANNEL, dataset.toString()]);
}

/** Longest pause between attempts to listen again after the listening connection was lost. */
const MAX_RETRY_MS = 2000;

type Waiter = () => void;

/**
 * Wakes live pulls after commits in any hub process on the database: one listening connection
 * per process (LISTEN crsync_changes), pushes NOTIFY in their transaction (delivered at commit).
 * Per dataset, notifications in a burst collapse into one wake COLLAPSE_MS later, as on the
 * SQLite hub. While the connection is down every waiter is woken (it re-reads the dataset and,
 * finding nothing, waits again), so a lost notification never holds a pull past its wait.
 */
export class ChangeListener {
  private readonly waiters = new Map<bigint, Set<Waiter>>();
  private readonly timers = new Map<bigint, NodeJS.Timeout>();
  private client: Client | undefined;
  private closed = false;
  private retryMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectClient: () => Promise<Client>,
    private readonly log: (line: string) => void,
  ) {}

  /** Listens (throws when the server cannot be reached: the hub does not start). */
  async start(): Promise<void> {
    const c = await this.connectClient();
    c.on('notification', (n: Notification) => this.onNotification(n));
    c.on('error', (err: Error) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('connection ended')));
    await c.query(`LISTEN ${CHANNEL}`);
    this.client = c;
    this.retryMs = 100;
  }

  private onNotification(n: Notification): void {
    if (n.channel !== CHANNEL || !n.payload || !/^\d+$/.test(n.payload)) return;
    const id = BigInt(n.payload);
    if (this.timers.has(id) || !this.waiters.get(id)?.size) return;
    this.timers.set(id, setTimeout(() => this.wake(id), COLLAPSE_MS));
  }

  private wake(id: bigint): void {
    this.timers.delete(id);
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const w of set) w();
  }

  private lost(c: Client, err: Error): void {
    if (this.client !== c) return;
    this.client = undefined;
    c.removeAllListeners('notification');
    void c.end().catch(() => {});
    if (this.closed) return;
    this.log(`live pulls: lost the PostgreSQL listening connection (${err.message}); listening again`);
    for (const id of [...this.waiters.keys()]) this.wake(id);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => {
      if (this.closed) return;
      this.start().catch(() => {
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
        this.scheduleRetry();
      });
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /**
   * Waits for the next commit of dataset `id`: registers first, then asks `check` (the
   * dataset's state now), so a commit lands either before the check (it sees it) or after (its
   * notification wakes us). Resolves true on a change, false after `ms` or on `signal`.
   */
  async wait(id: bigint, ms: number, signal: AbortSignal, check: () => Promise<boolean>): Promise<boolean> {
    if (signal.aborted) return false;
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    const waiters = set;
    let settle: (changed: boolean) => void = () => {};
    const woken = new Promise<boolean>((resolve) => (settle = resolve));
    const onWake = (): void => end(true);
    const onAbort = (): void => end(false);
    const timer = setTimeout(() => end(false), ms);
    const end = (changed: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      waiters.delete(onWake);
      if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
      settle(changed);
    };
    waiters.add(onWake);
    signal.addEventListener('abort', onAbort, { once: true });
    // While not listening, nothing would wake us: the caller checks again a moment later.
    if (!this.client) setTimeout(() => end(true), Math.min(ms, MAX_RETRY_MS)).unref();
    try {
      if (await check()) end(true);
    } catch (err) {
      end(false);
      throw err;
    }
    return woken;
  }

  /** Stops listening and wakes every waiter (hub shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const id of [...this.waiters.keys()]) this.wake(id);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
