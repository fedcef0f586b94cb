import pg from 'pg';
import { afterAll, afterEach, beforeEach } from 'vitest';
import { startPgCluster } from '../../scripts/pg-cluster.mjs';
import { startHubOn, tempDir, type Hub, type HubStore } from '../helpers.js';

/** The two dataset stores of a hub; suites that run on both loop over these. */
export type StoreKind = 'sqlite' | 'postgres';
export const STORES: StoreKind[] = ['sqlite', 'postgres'];

/** A hub and where it keeps its datasets (to look behind it: store-state.ts). */
export interface StoreHub extends Hub {
  kind: StoreKind;
  store: HubStore;
}

/** The throwaway cluster of scripts/pg-cluster.mjs. */
export interface PgCluster {
  url: string;
  urlOf(db: string): string;
  kill(): void;
  start(): void;
  stop(): Promise<void>;
}

/** A sandbox whose hubs run on either store: a folder per test, and on PostgreSQL a database per test. */
export interface StoreSandbox {
  readonly dir: string;
  path(name: string): string;
  /** The file's one cluster (started on first use). */
  cluster(): Promise<PgCluster>;
  /** A new empty PostgreSQL database of the cluster, as a URL. */
  database(): Promise<string>;
  /**
   * Starts a hub on `kind`: SQLite in `<sandbox>/<dir>`, PostgreSQL in this test's database
   * (`url` gives another one: two hubs on one database share it).
   */
  hub(kind: StoreKind, opts?: { dir?: string; url?: string; extra?: string[]; env?: Record<string, string> }): Promise<StoreHub>;
}

/** What GET /v1/datasets/<name> answers, as far as the tests read it. */
export interface InfoJson {
  siteId: string;
  dbVersion: string;
  schema: { version: number; hash: string; tables: { name: string; columns: { name: string }[] }[] };
}

/** GET a hub's JSON answer. */
export async function getJson<T = InfoJson>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

/** Runs SQL on a database of the cluster (the test's own look behind the hub). */
export async function pgQuery(url: string, sql: string, args: unknown[] = []): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, args)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

/** Registers the per-test setup and teardown, and one cluster for the file; call at the top of a test file. */
export function storeSandbox(prefix: string): StoreSandbox {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let hubs: Hub[] = [];
  let cluster: Promise<PgCluster> | undefined;
  let testDb: string | undefined;
  let dbs = 0;
  beforeEach(() => {
    tmp = tempDir(prefix);
    hubs = [];
    testDb = undefined;
  });
  afterEach(async () => {
    for (const h of hubs) await h.stop();
    tmp?.cleanup();
  }, 30_000);
  afterAll(async () => {
    if (cluster) await (await cluster).stop();
  });
  const box: StoreSandbox = {
    get dir() {
      return tmp!.dir;
    },
    path: (name) => tmp!.path(name),
    cluster() {
      cluster ??= startPgCluster() as Promise<PgCluster>;
      return cluster;
    },
    async database() {
      const c = await box.cluster();
      const name = `t${process.pid}_${++dbs}`;
      await pgQuery(c.url, `CREATE DATABASE ${name}`);
      return c.urlOf(name);
    },
    async hub(kind, opts = {}) {
      let store: HubStore;
      if (kind === 'sqlite') store = { dir: tmp!.path(opts.dir ?? 'hub') };
      else {
        testDb = opts.url ?? testDb ?? (await box.database());
        store = { postgres: testDb };
      }
      const h = { ...(await startHubOn(store, opts.extra, opts.env)), kind, store };
      hubs.push(h);
      return h;
    },
  };
  return box;
}
