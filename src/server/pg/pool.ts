import type { Client, Pool, PoolClient } from 'pg';
import { clientConfig, isConnectionLoss, storeError } from './config.js';

export { redactUrl, storeError } from './config.js';

/** The pg module, loaded on first use: a hub on SQLite files (and every other command) never loads it. */
async function configOf(url: string): Promise<{ pg: typeof import('pg').default; config: ReturnType<typeof clientConfig> }> {
  const pg = (await import('pg')).default;
  return { pg, config: clientConfig(pg, url) };
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
