import Database from 'better-sqlite3';
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { CLI } from '../helpers.js';
import { makeReplica, ok, sql, type Sandbox } from './sync-helpers.js';

/** One NDJSON event of `crsync sync --watch --json`. */
export interface LiveEvent {
  event: 'status' | 'pushed' | 'pulled' | 'conflict';
  state?: string;
  changes?: number;
  ms?: number;
  [key: string]: unknown;
}

/** A `crsync sync --watch --json` process and the events it has printed so far. */
export interface Watcher {
  proc: ResultPromise;
  events: LiveEvent[];
  /** Lines of stdout that were not one event each (a pretty-printed error document). */
  rest: string[];
  /** Resolves with the first event (already printed or to come) that `match` accepts. */
  next(match: (e: LiveEvent) => boolean, ms?: number): Promise<LiveEvent>;
  /** Sends a signal and resolves with the exit code and stderr. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | undefined; stderr: string }>;
}

/** Starts a watcher on `db` (its remote `origin` unless given). */
export function startWatcher(db: string, args: string[] = [], env: Record<string, string> = {}): Watcher {
  const proc = execa('node', [CLI, '-d', db, 'sync', '--watch', '--json', ...args], { env: { NO_COLOR: '1', ...env }, reject: false, buffer: { stdout: false, stderr: true } });
  const events: LiveEvent[] = [];
  const rest: string[] = [];
  const waiters: { match: (e: LiveEvent) => boolean; resolve: (e: LiveEvent) => void }[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let e: LiveEvent;
    try {
      e = JSON.parse(line) as LiveEvent;
    } catch {
      rest.push(line);
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    proc,
    events,
    rest,
    next(match, ms = 15_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such event within ${ms} ms; got ${JSON.stringify(events)}`)), ms);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      const r = await proc;
      return { exitCode: r.exitCode, stderr: String(r.stderr ?? '') };
    },
  };
}

/** Resolves once `check` is true (polled every 20 ms), or fails after `ms`; returns how long it took. */
export async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > ms) throw new Error(`not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Names in table t, read with plain SQLite (no cr-sqlite, no CLI start-up): what a reader of the file sees. */
export function names(db: string): string[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare('select name from t order by id').pluck().all() as string[];
  } finally {
    conn.close();
  }
}

/** Replica a.db of `box` (makeReplica's table t, with `insert` run) pushed to the hub as the new dataset shop. */
export async function pushedShop(box: Sandbox, hubUrl: string, insert: string, ddl?: string): Promise<{ a: string; base: string }> {
  const a = box.path('a.db');
  await makeReplica(a, ddl);
  await sql(a, insert);
  await ok(['-d', a, 'remote', 'add', 'origin', `${hubUrl}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  return { a, base: `${hubUrl}/v1/datasets/shop` };
}
