import type { Client, ClientConfig, Pool, PoolClient } from 'pg';
import { CrsyncError } from '../../errors.js';

/** Longest a request waits for a free connection before it is told the hub is busy. */
const ACQUIRE_TIMEOUT_MS = 10_000;

/** SQLSTATE classes and codes that mean the server, not the statement, failed: worth another try. */
const UNAVAILABLE_STATES = /^(08|53|57P0[1-4]|40001|40P01)/;

/** Node errors of a socket to the server that went away or never answered. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** True when `err` says PostgreSQL could not be reached or dropped the connection. */
export function isConnectionLoss(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = String(e?.code ?? '');
  if (SOCKET_CODES.has(code) || UNAVAILABLE_STATES.test(code)) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(String(e?.message ?? ''));
}

/**
 * The error a request answers with when the store failed underneath it: 503 store_unavailable
 * (the client retries, and its push resumes from the last committed page) for a lost or
 * overloaded server; anything else is left as it is.
 */
export function storeError(err: unknown): unknown {
  if (err instanceof CrsyncError || !isConnectionLoss(err)) return err;
  return new CrsyncError('store_unavailable', `the hub lost its PostgreSQL store: ${(err as Error).message}`, {
    hint: 'try again shortly (sync retries by itself); the operator should check the PostgreSQL server',
    cause: err,
  });
}

/**
 * How every connection of the store is made. int8 comes back as bigint (versions, clocks and
 * SQLite integers are bigint end to end); bigint parameters go out as their decimal text.
 */
async function configOf(url: string): Promise<{ pg: typeof import('pg').default; config: ClientConfig }> {
  // Loaded here, on first use: a hub on SQLite files (and every other command) never loads it.
  const pg = (await import('pg')).default;
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format)),
  };
  return { pg, config: { connectionString: url, types, application_name: 'crsync-hub', connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS } };
}

/** A pool of `size` connections on `url`; errors of idle connections (a server restart) go to `onError`. */
export async function createPool(url: string, size: number, onError: (err: Error) => void): Promise<Pool> {
  const { pg, config } = await configOf(url);
  const pool = new pg.Pool({ ...config, max: size, idleTimeoutMillis: 30_000 });
  // An idle connection the server dropped must not crash the hub: the pool replaces it.
  pool.on('error', onError);
  return pool;
}

/** A connection of its own (not the pool's), for LISTEN. */
export async function connectClient(url: string): Promise<Client> {
  const { pg, config } = await configOf(url);
  const c = new pg.Client(config);
  try {
    await c.connect();
  } catch (err) {
    // A client that failed to connect still holds its socket's listeners.
    await c.end().catch(() => {});
    throw err;
  }
  return c;
}

/** Runs `fn` on one connection of the pool inside a transaction; rolls back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const c = await connect(pool);
  let broken: unknown;
  try {
    await c.query(begin);
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (err) {
    broken = isConnectionLoss(err) ? err : undefined;
    if (!broken) await c.query('ROLLBACK').catch((e: unknown) => (broken = e));
    throw storeError(err);
  } finally {
    // A connection that failed mid-transaction is not given back to be reused.
    c.release(broken as Error | undefined);
  }
}

/** Connections of the pool that have their 'error' listener. */
const guarded = new WeakSet<PoolClient>();

/** A connection of the pool; a server that cannot be reached is 503 store_unavailable. */
export async function connect(pool: Pool): Promise<PoolClient> {
  let c: PoolClient;
  try {
    c = await pool.connect();
  } catch (err) {
    throw storeError(err);
  }
  // A server lost while the connection is checked out emits 'error' on it (the pool listens only
  // on idle ones): unheard, it would end the hub. The query in flight fails with it anyway.
  if (!guarded.has(c)) {
    c.on('error', () => {});
    guarded.add(c);
  }
  return c;
}

/** One statement on any connection of the pool. */
export async function query<R extends object = Record<string, unknown>>(pool: Pool, sql: string, args: unknown[] = []): Promise<R[]> {
  try {
    return (await pool.query(sql, args)).rows as R[];
  } catch (err) {
    throw storeError(err);
  }
}
