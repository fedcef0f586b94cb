import pg from 'pg';
import { CrsyncError } from '../../errors.js';
import { SnapshotWriter } from '../../db/snapshot-build.js';
import type { SnapshotPosition } from '../../db/snapshot.js';
import type { TableSchema } from '../../sync/protocol/schema.js';
import type { Change } from '../../sync/protocol/types.js';
import { clientConfig, storeError } from './config.js';
import { SQLITE_INTEGER, fromPg } from './values.js';

/*
 * The PostgreSQL store's side of a snapshot, run in the hub's PostgreSQL snapshot worker (pg-snapshot-worker.ts)
 * on a connection of the worker's own: reading a whole dataset and writing or loading a SQLite
 * file takes seconds that the hub's event loop, which serves every other request, cannot give.
 * pg is imported here, not loaded lazily as pool.ts does: the worker is bundled as one file.
 */

/** Cells read per FETCH: the next batch is on its way while this one is written. */
const FETCH_ROWS = 20_000;

/** A cell's columns in the order of a Change, as arrays (no row objects: a million cells make a lot of garbage). */
const COLUMNS = 'tbl, pk, cid, val_type, val_int, val_real, val_bytes, col_version, db_version, site_id, cl, seq';
type CellArray = [string, Buffer, string, number, bigint | null, number | null, Buffer | null, bigint, bigint, Buffer, bigint, bigint];

/** A cell as a change (int8 arrives as bigint: clientConfig's parser). */
function toChange(r: CellArray): Change {
  const val = r[3] === SQLITE_INTEGER ? r[4]! : fromPg(r[3], null, r[5], r[6]);
  return [r[0], r[1], r[2], val, r[7], r[8], r[9], r[10], r[11]];
}

/** Runs `fn` on a connection of its own to `url`, ended after; a lost server is store_unavailable. */
export async function withConnection<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(clientConfig(pg, url));
  // A server lost mid-query fails that query; the client's own 'error' must not end the worker.
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } catch (err) {
    throw storeError(err);
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Writes dataset `dataset` to `dest` (a new SQLite file) from one REPEATABLE READ READ ONLY
 * transaction: its schema, every cell, the hub's site id as the file's own. Cells are read in
 * primary-key order (table, key, column), so each row's cells come together.
 */
export async function copyPgDataset(url: string, dataset: bigint, dest: string): Promise<SnapshotPosition> {
  return withConnection(url, async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const d = (await c.query('SELECT site_id, schema_tables, schema_version, schema_hash, created_at FROM crsync_datasets WHERE id = $1', [dataset.toString()])).rows[0] as
      | { site_id: Buffer; schema_tables: string; schema_version: number; schema_hash: string; created_at: Date }
      | undefined;
    if (!d) throw new CrsyncError('dataset_not_found', 'the dataset is gone from the store', { hint: 'check the name, or create it with `crsync push --create`' });
    const writer = new SnapshotWriter(dest, {
      site: d.site_id,
      schema: { version: d.schema_version, hash: d.schema_hash, tables: JSON.parse(d.schema_tables) as TableSchema[] },
      at: d.created_at.toISOString(),
    });
    try {
      // The id is the store's own bigint, never a client's text.
      await c.query(`DECLARE crsync_snapshot NO SCROLL CURSOR FOR SELECT ${COLUMNS} FROM crsync_cells WHERE dataset = ${BigInt(dataset)} ORDER BY tbl, pk, cid`);
      const fetch = (): Promise<pg.QueryArrayResult<CellArray>> => c.query<CellArray>({ text: `FETCH ${FETCH_ROWS} FROM crsync_snapshot`, rowMode: 'array' });
      for (let next: Promise<pg.QueryArrayResult<CellArray>> | undefined = fetch(); next; ) {
        const rows: CellArray[] = (await next).rows;
        next = rows.length === FETCH_ROWS ? fetch() : undefined;
        // Awaited on the next turn; a failure meanwhile must not go unhandled.
        next?.catch(() => {});
        writer.add(rows.map(toChange));
      }
      await c.query('COMMIT');
      return writer.finish();
    } finally {
      writer.abort();
    }
  });
}
