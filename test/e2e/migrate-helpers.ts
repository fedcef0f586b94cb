import Database from 'better-sqlite3';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { MigrateResult } from '../../src/db/schema/migrate.js';
import { crsyncJson, type Hub } from '../helpers.js';
import { ok, sandbox, SYNC_ENV } from './sync-helpers.js';

/** What `crsync migrate --json` prints. */
export type MigrateJson = MigrateResult;

/** A hub with dataset "shop" pushed from replica a (table t, two rows, schema version 1) and cloned to b. */
export interface HubPair {
  hub: Hub;
  a: string;
  b: string;
  /** The hub's own database file of the dataset. */
  hubDb: string;
  url: string;
}

/**
 * Registers a sandbox per test (its hubs stopped, its folder removed); `setup()` makes a hub pair.
 * Call at the top of a test file.
 */
export function hubPairFixture(prefix: string): { setup(): Promise<HubPair> } {
  const box = sandbox(prefix);
  return {
    async setup() {
      const hub = await box.hub();
      const [a, b] = [box.path('a.db'), box.path('b.db')];
      // A's first migration creates and tracks t, so every side starts at schema version 1.
      await ok(['-d', a, 'init']);
      await migrated(
        a,
        "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, data BLOB); INSERT INTO t VALUES (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, NULL, NULL)",
        ['--track', 't'],
      );
      const url = `${hub.url}/shop`;
      await ok(['-d', a, 'remote', 'add', 'origin', url]);
      await ok(['-d', a, 'push', '--create']);
      await ok(['clone', url, b]);
      return { hub, a, b, url, hubDb: join(box.path('hub'), 'shop.db') };
    },
  };
}

/** Runs `crsync migrate -` with the SQL on stdin; returns exit code and JSON. */
export function migrateJson<T = MigrateJson>(db: string, migration: string, extra: string[] = []): Promise<{ exitCode: number; json: T; stderr: string }> {
  return crsyncJson<T>(['-d', db, 'migrate', '-', ...extra], { input: migration, env: SYNC_ENV });
}

/** Runs a migration that must succeed. */
export async function migrated(db: string, migration: string, extra: string[] = []): Promise<MigrateJson> {
  const r = await migrateJson(db, migration, extra);
  expect(r.exitCode, JSON.stringify(r.json)).toBe(0);
  return r.json;
}

/** Reads rows straight from a file (no cr-sqlite needed for plain and clock tables). */
export function read(db: string, query: string): unknown[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare(query).raw(true).all();
  } finally {
    conn.close();
  }
}

/** Column names of a table, read from the file. */
export const columns = (db: string, table = 't'): unknown[] => read(db, `SELECT name FROM pragma_table_info('${table}')`).flat();

/** All rows of t, read from the file (the same way for replicas and the hub's file). */
export const allRows = (db: string): unknown[] => read(db, 'SELECT * FROM t ORDER BY id');

/** Everything a failed migration must leave as it was: schema, rows, change metadata, bookkeeping. */
export function snapshot(db: string): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  out.schema = read(db, 'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name');
  const tables = read(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") as [string][];
  for (const [name] of tables) out[name] = read(db, `SELECT * FROM "${name}" ORDER BY 1, 2`);
  return out;
}

/** The replicated schema's version and hash as `doctor` reports them. */
export async function doctorSchema(db: string): Promise<{ version: number; hash: string }> {
  const d = await ok<{ db: { schemaVersion: number; schemaHash: string } }>(['-d', db, 'doctor']);
  return { version: d.db.schemaVersion, hash: d.db.schemaHash };
}

/** The hub file's schema version (crsync_meta), read directly. */
export function fileSchemaVersion(db: string): number {
  const row = read(db, "SELECT value FROM crsync_meta WHERE key = 'schema_version'")[0] as [number] | undefined;
  return row ? Number(row[0]) : 0;
}
