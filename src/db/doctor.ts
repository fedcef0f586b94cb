import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CRSQLITE_VERSION, extensionPath } from './extension.js';
import { closeDb, dbVersion, openStore, siteId } from './store.js';
import { replicatedTableInfo, type TableInfo } from './replica.js';
import { readReplicatedSchema } from './schema/read.js';

/** Result of `crsync doctor`. */
export interface DoctorResult {
  node: string;
  betterSqlite3: string;
  sqlite: string;
  crsqlite: { version: string; path: string; loaded: boolean; error?: string };
  db: {
    path: string;
    siteId: string;
    dbVersion: bigint;
    tables: TableInfo[];
    schemaVersion: number;
    schemaHash: string;
  } | null;
  /** Why the database could not be inspected, when it exists but failed to open. */
  dbError?: string;
}

/** Versions, the extension's state, and the database's identity. Never throws for a broken setup. */
export function runDoctor(dbPath: string): DoctorResult {
  const require = createRequire(import.meta.url);
  const bsVersion = (require('better-sqlite3/package.json') as { version: string }).version;
  const path = extensionPath();
  const mem = new Database(':memory:');
  const sqlite = mem.prepare('SELECT sqlite_version()').pluck().get() as string;
  let loaded = false;
  let error: string | undefined;
  try {
    mem.loadExtension(path);
    loaded = true;
  } catch (err) {
    error = (err as Error).message;
  }
  if (loaded) closeDb(mem);
  else mem.close();

  const result: DoctorResult = {
    node: process.versions.node,
    betterSqlite3: bsVersion,
    sqlite,
    crsqlite: { version: CRSQLITE_VERSION, path, loaded, ...(error ? { error } : {}) },
    db: null,
  };
  const abs = resolve(dbPath);
  if (loaded && existsSync(abs)) {
    try {
      const store = openStore(abs, { readonly: true, inspect: true });
      try {
        const schema = readReplicatedSchema(store.db);
        result.db = {
          path: store.path,
          siteId: siteId(store.db).toString('hex'),
          dbVersion: dbVersion(store.db),
          tables: replicatedTableInfo(store.db),
          schemaVersion: schema.version,
          schemaHash: schema.hash,
        };
      } finally {
        store.close();
      }
    } catch (err) {
      result.dbError = (err as Error).message;
    }
  }
  return result;
}
