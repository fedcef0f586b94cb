import { isDeepStrictEqual } from 'node:util';
import type { Db, Statement } from '../db/store.js';

/** Called with a watched query's rows when they differ from the last call. */
export type WatchCallback = (rows: Record<string, unknown>[]) => void;

/**
 * How often watches look for a commit. The check is one `crsql_db_version()` (no table is read),
 * so an idle app costs next to nothing; a write is seen within this much.
 */
const POLL_MS = 25;

interface Watch {
  sql: string;
  /** Prepared once (SQLite prepares it again by itself after a schema change). */
  statement: Statement;
  params: unknown[];
  callback: WatchCallback;
  last: Record<string, unknown>[] | undefined;
}

/**
 * Re-runs queries when the replica's db_version moves: local writes through any connection (the
 * app's, another process's) and merges alike raise it. Every watch re-runs on any change and
 * calls back only when its rows differ, so a callback never fires for an unrelated write.
 */
export class QueryWatcher {
  private readonly watches = new Set<Watch>();
  private timer: NodeJS.Timeout | undefined;
  private seen: bigint | undefined;

  constructor(
    private readonly db: Db,
    private readonly version: () => bigint,
  ) {}

  add(sql: string, params: unknown[], callback: WatchCallback): () => void {
    const w: Watch = { sql, statement: this.db.prepare<unknown[]>(sql), params, callback, last: undefined };
    this.watches.add(w);
    this.run(w);
    if (!this.timer) {
      this.seen = this.version();
      this.timer = setInterval(() => this.poke(), POLL_MS);
      // Watching alone never keeps the app's process alive.
      this.timer.unref();
    }
    return () => {
      this.watches.delete(w);
      if (this.watches.size === 0) this.stop();
    };
  }

  /** Looks for a change now (after a sync or resolve, without waiting for the next tick). */
  poke(): void {
    if (this.watches.size === 0 || !this.db.open) return;
    const v = this.version();
    if (v === this.seen) return;
    this.seen = v;
    for (const w of this.watches) this.run(w);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.watches.clear();
  }

  private run(w: Watch): void {
    // Integers come back as the app's connection reads them (`db.defaultSafeIntegers()` for bigint).
    const rows = w.statement.all(...w.params) as Record<string, unknown>[];
    if (w.last !== undefined && isDeepStrictEqual(rows, w.last)) return;
    w.last = rows;
    w.callback(rows);
  }
}
