import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { DatasetStore } from './dataset-store.js';
import { SqliteDatasetStore } from './sqlite-store.js';

/** Where a hub keeps its datasets (the store options of ServeOptions). */
export interface StoreChoice {
  dir?: string;
  store?: string;
  storePool?: number;
  datasetIdleMs?: number;
}

/** An open store, the folder the hub makes snapshot files in, and what to say it serves. */
export interface OpenedStore {
  store: DatasetStore;
  dir: string;
  label: string;
  /** Removes what opening made beside the store (the snapshot folder of a PostgreSQL hub). */
  release: () => Promise<void>;
}

/** The store of `opts` (a folder of SQLite files, or PostgreSQL), and a folder for snapshot files. */
export async function openHubStore(opts: StoreChoice, log: (line: string) => void): Promise<OpenedStore> {
  if (opts.store !== undefined) {
    if (opts.dir !== undefined) throw new UsageError('--dir and --store both name where the datasets live', 'give one of them');
    const { openPgStore, redactUrl } = await import('./pg/store.js');
    const store = await openPgStore({ url: opts.store, poolSize: opts.storePool, log });
    // Snapshot files are made outside the database, in a folder of this process's own.
    const dir = mkdtempSync(join(tmpdir(), 'crsync-hub-'));
    return { store, dir, label: redactUrl(opts.store), release: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (opts.dir === undefined) throw new UsageError('no store: the hub needs --dir or --store');
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  return { store: new SqliteDatasetStore({ dir, idleMs: opts.datasetIdleMs }), dir, label: dir, release: async () => {} };
}

