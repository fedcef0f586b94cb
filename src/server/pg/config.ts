import type { ClientConfig } from 'pg';
import { CrsyncError } from '../../errors.js';

/*
 * How the store's connections are made, and what their failures mean. Apart from pool.ts (which
 * loads pg on first use) so that the snapshot worker, bundled as one file with pg in it, can
 * make its own connection the same way.
 */

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
export function clientConfig(pg: typeof import('pg').default, url: string): ClientConfig {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format)),
  };
  return { connectionString: url, types, application_name: 'crsync-hub', connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS };
}
