import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { startHubOn, tempDir, type HubStore } from '../helpers.js';
import Database from 'better-sqlite3';
import { snapshot } from './hostile-helpers.js';
import { pgQuery, type StoreHub, type StoreKind, type StoreSandbox } from './store-helpers.js';

/*
 * A look behind a hub on either store, for suites that run on both: what a refused request must
 * leave alone, and which datasets exist.
 */

/** On PostgreSQL, the dataset's rows of crsync's tables, as text (ids and times that move by themselves left out). */
async function pgState(url: string, name: string): Promise<Record<string, unknown[]>> {
  const q = (sql: string) => pgQuery(url, sql, [name]);
  const of = 'JOIN crsync_datasets d ON d.id = x.dataset WHERE d.name = $1';
  return {
    dataset: await q('SELECT version::text, schema_version, schema_hash, schema_tables FROM crsync_datasets WHERE name = $1'),
    cells: await q(`SELECT tbl, encode(pk, 'hex') AS pk, cid, val_type, val_int::text, val_real::text, encode(val_bytes, 'hex') AS val, col_version::text, cl::text,
      db_version::text, seq::text, encode(x.site_id, 'hex') AS site, encode(pusher, 'hex') AS pusher FROM crsync_cells x ${of} ORDER BY 1, 2, 3`),
    peers: await q(`SELECT encode(x.site_id, 'hex') AS site, recv_version::text, recv_seq::text, seen_version::text FROM crsync_peers x ${of} ORDER BY 1`),
    conflicts: await q(`SELECT x.id::text, tbl, encode(pk, 'hex') AS pk, cid, kind, ours, theirs, winner, resolved_at, resolution FROM crsync_conflicts x ${of} ORDER BY x.id`),
  };
}

/** Everything of a dataset a refused request must leave alone: rows, clocks, cursors, conflicts (expects a table t on SQLite). */
export async function datasetState(h: { store: HubStore }, name: string): Promise<Record<string, unknown[]>> {
  return 'dir' in h.store ? snapshot(join(h.store.dir, `${name}.db`)) : pgState(h.store.postgres, name);
}

/** A site's record on a hub: how far its pushes are committed (received) and how far it has pulled (seen). */
export interface PeerRecord {
  recv: string;
  seen: string;
}

/** Every site record of a dataset, by site id (hex), and how many conflicts it holds. */
export async function hubRecords(h: { store: HubStore }, name: string): Promise<{ peers: Map<string, PeerRecord>; conflicts: number }> {
  type Row = { site: string; recv: string; seen: string };
  let peers: Row[];
  let conflicts: number;
  if ('dir' in h.store) {
    const db = new Database(join(h.store.dir, `${name}.db`), { readonly: true, fileMustExist: true });
    try {
      peers = db.prepare('SELECT lower(hex(site_id)) AS site, CAST(recv_version AS TEXT) AS recv, CAST(seen_version AS TEXT) AS seen FROM crsync_peers').all() as Row[];
      conflicts = Number(db.prepare('SELECT count(*) FROM crsync_conflicts').pluck().get());
    } finally {
      db.close();
    }
  } else {
    const of = 'JOIN crsync_datasets d ON d.id = x.dataset WHERE d.name = $1';
    peers = (await pgQuery(h.store.postgres, `SELECT encode(x.site_id, 'hex') AS site, recv_version::text AS recv, seen_version::text AS seen FROM crsync_peers x ${of}`, [name])) as Row[];
    conflicts = Number((await pgQuery(h.store.postgres, `SELECT count(*) AS n FROM crsync_conflicts x ${of}`, [name]))[0]!.n);
  }
  return { peers: new Map(peers.map((r) => [r.site, { recv: r.recv, seen: r.seen }])), conflicts };
}

/** How many live rows a table of a dataset has on the hub. */
export async function hubRowCount(h: { store: HubStore }, name: string, table: string): Promise<number> {
  if ('dir' in h.store) {
    const db = new Database(join(h.store.dir, `${name}.db`), { readonly: true, fileMustExist: true });
    try {
      return Number(db.prepare(`SELECT count(*) FROM "${table.replace(/"/g, '""')}"`).pluck().get());
    } finally {
      db.close();
    }
  }
  const sql = "SELECT count(DISTINCT pk) AS n FROM crsync_cells x JOIN crsync_datasets d ON d.id = x.dataset WHERE d.name = $1 AND x.tbl = $2 AND x.cl % 2 = 1";
  return Number((await pgQuery(h.store.postgres, sql, [name, table]))[0]!.n);
}

/** The datasets a hub holds, by name. */
export async function datasetNames(h: { store: HubStore }): Promise<string[]> {
  if ('dir' in h.store) return existsSync(h.store.dir) ? readdirSync(h.store.dir).filter((f) => f.endsWith('.db')).map((f) => f.slice(0, -3)).sort() : [];
  return (await pgQuery(h.store.postgres, 'SELECT name FROM crsync_datasets ORDER BY name')).map((r) => String(r.name));
}

/** A hub on `kind` for a whole describe block (started before its tests, stopped after), with its own folder. */
export interface SharedHub {
  readonly hub: StoreHub;
  path(name: string): string;
}

/** Registers a SharedHub in the calling describe block; `extra` gets the block's folder (for a tokens file). */
export function sharedHub(box: StoreSandbox, kind: StoreKind, prefix: string, extra: (path: (name: string) => string) => string[] = () => []): SharedHub {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let hub: StoreHub | undefined;
  beforeAll(async () => {
    tmp = tempDir(prefix);
    const store: HubStore = kind === 'sqlite' ? { dir: tmp.path('hub') } : { postgres: await box.database() };
    hub = { ...(await startHubOn(store, extra(tmp.path))), kind, store };
  }, 30_000);
  afterAll(async () => {
    await hub?.stop();
    tmp?.cleanup();
  }, 30_000);
  return {
    get hub() {
      return hub!;
    },
    path: (name) => tmp!.path(name),
  };
}
