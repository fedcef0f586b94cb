import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, beforeEach, expect } from 'vitest';
import { CLI, crsync, crsyncJson, startHub, tempDir, type CliRun, type Hub } from '../helpers.js';

/** Fast retries: a remote that stays down fails in well under a second. */
export const SYNC_ENV = { CRSYNC_RETRIES: '2', CRSYNC_RETRY_DELAY_MS: '50' };

/** The JSON keys every push, pull and sync result carries. */
export interface TransferJson {
  remote: string;
  sent: number;
  received: number;
  conflicts: number;
  bytes: number;
  ms: number;
}

/** A temp folder per test, and the hubs started in it (stopped, and the folder removed, after each test). */
export interface Sandbox {
  readonly dir: string;
  path(name: string): string;
  /** Starts `crsync serve --dir <sandbox>/<dir> --port 0`. */
  hub(dir?: string, extra?: string[]): Promise<Hub>;
}

/** Registers the per-test setup and teardown of a sandbox; call at the top of a test file. */
export function sandbox(prefix: string): Sandbox {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let hubs: Hub[] = [];
  beforeEach(() => {
    tmp = tempDir(prefix);
    hubs = [];
  });
  afterEach(async () => {
    for (const h of hubs) await h.stop();
    tmp?.cleanup();
  });
  return {
    get dir() {
      return tmp!.dir;
    },
    path: (name) => tmp!.path(name),
    async hub(dir = 'hub', extra = []) {
      const h = await startHub(tmp!.path(dir), extra);
      hubs.push(h);
      return h;
    },
  };
}

/** The CLI (with --json) as a child process a test can kill. */
export function spawnCli(args: string[]) {
  return execa('node', [CLI, ...args, '--json'], { env: { NO_COLOR: '1', ...SYNC_ENV }, reject: false });
}

/** Runs the CLI with the fast retry settings (and any extra env). */
export function run(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return crsync(args, { env: { ...SYNC_ENV, ...env } });
}

/** Runs the CLI with --json and the fast retry settings. */
export function runJson<T = TransferJson>(args: string[], env: Record<string, string> = {}): Promise<{ exitCode: number; json: T; stderr: string }> {
  return crsyncJson<T>(args, { env: { ...SYNC_ENV, ...env } });
}

/** Runs a command that must succeed and returns its JSON result. */
export async function ok<T = TransferJson>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const r = await runJson<T>(args, env);
  if (r.exitCode !== 0) throw new Error(`crsync ${args.join(' ')} exited ${r.exitCode}: ${JSON.stringify(r.json)}\n${r.stderr}`);
  return r.json;
}

/** Runs SQL on a replica through the CLI (cr-sqlite loaded) and expects success. */
export async function sql(db: string, statement: string): Promise<void> {
  const r = await run(['-d', db, 'sql', statement]);
  expect(r.exitCode, r.stderr).toBe(0);
}

/** Rows of a query as the CLI prints them with --json (exact SQLite types in crsync JSON). */
export async function rows(db: string, query = 'select * from t order by id'): Promise<unknown[]> {
  const r = await run(['-d', db, 'sql', '--json', query]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown[];
}

/** Every replica's next sync sends and receives nothing: converged, and nothing echoes back. */
export async function expectQuiet(dbs: string[], remote = 'origin'): Promise<void> {
  for (const db of dbs) {
    const r = await ok(['-d', db, 'sync', remote]);
    expect({ db, sent: r.sent, received: r.received }).toEqual({ db, sent: 0, received: 0 });
  }
}

/** The rows of every database, which must all be the same; returns them. */
export async function expectSameRows(dbs: string[]): Promise<unknown[]> {
  const [first, ...rest] = dbs;
  const expected = await rows(first!);
  for (const db of rest) expect({ db, rows: await rows(db) }).toEqual({ db, rows: expected });
  return expected;
}

/** Creates a replica with the replicated table t (every SQLite storage class in its columns). */
export async function makeReplica(db: string, ddl = 'create table t (id integer primary key not null, name text, qty integer, price real, data blob)'): Promise<void> {
  expect((await run(['-d', db, 'init'])).exitCode).toBe(0);
  await sql(db, ddl);
  expect((await run(['-d', db, 'track', 't'])).exitCode).toBe(0);
}

/** The replicated state of a replica, writer included (db_version and seq are local): what clones must agree on. */
export const CHANGES = `SELECT "table" AS tbl, hex(pk) AS pk, cid, val, col_version, cl, hex(site_id) AS site
  FROM crsql_changes ORDER BY tbl, pk, cid`;

/**
 * Edits of two replicas of t (rows 1-3) that a merge must settle, then synced a, b, a: concurrent
 * edits of one cell (a conflict), a delete against an update, a delete and re-insert.
 */
export async function crossEdits(a: string, b: string): Promise<void> {
  await sql(a, `update t set name = 'from a' where id = 1`);
  await sql(b, `update t set name = 'from b' where id = 1`);
  await sql(a, `delete from t where id = 2`);
  await sql(b, `update t set qty = 20 where id = 2`);
  await sql(b, `delete from t where id = 3`);
  await sql(b, `insert into t (id, name, qty) values (3, 'three again', 33)`);
  await ok(['-d', a, 'sync']);
  await ok(['-d', b, 'sync']);
  await ok(['-d', a, 'sync']);
}

/** Reads one value from a database file without cr-sqlite (crsync's plain bookkeeping tables). */
export function peek(db: string, query: string, ...params: unknown[]): unknown {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare(query).pluck().get(...params);
  } finally {
    conn.close();
  }
}

/** Polls `check` until it returns true (or fails after `ms`). */
export async function waitFor(check: () => boolean, ms = 30_000, every = 10): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (check()) return;
    } catch {
      // the file may not exist yet, or be mid-checkpoint: try again
    }
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Rows inserted by a recursive CTE: n rows with ids from `first`, two changes each. */
export function bulkInsert(n: number, first = 1): string {
  return `with recursive s(i) as (select ${first} union all select i + 1 from s where i < ${first + n - 1})
    insert into t (id, name, qty) select i, 'row ' || i, i * 7 from s`;
}

/**
 * A replica `a.db` with `rows` rows in t (two changes each) pushing them in pages of 1000 to a new
 * dataset `big` of `hub`; resolves once the hub has committed a page, with the push still running.
 */
export async function bigPushUnderWay(box: Sandbox, hub: Hub, rows: number): Promise<{ a: string; hubFile: string; push: ReturnType<typeof spawnCli> }> {
  const a = box.path('a.db');
  await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
  await sql(a, bulkInsert(rows));
  await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/big`]);
  const hubFile = box.path('hub/big.db');
  const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', '--page-size', '1000']);
  await waitFor(() => ((peek(hubFile, 'select max(recv_version) from crsync_peers') as number | null) ?? 0) > 0);
  return { a, hubFile, push };
}
