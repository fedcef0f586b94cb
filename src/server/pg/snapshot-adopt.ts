import { randomUUID } from 'node:crypto';
import { uploadCells } from '../../db/snapshot-cells.js';
import { NOT_WITHIN, notEmpty, schemaWithin } from '../../db/snapshot-upload.js';
import type { ReplicatedSchema, TableSchema } from '../../sync/protocol/schema.js';
import { END_OF_VERSION } from '../../sync/protocol/types.js';
import { notifyChange } from './listen.js';
import { withConnection } from './snapshot-copy.js';
import { toPg } from './values.js';

/** Cells per INSERT: one statement of arrays per batch (pg binds each column as one array). */
const BATCH = 5000;

const INSERT_CELLS = `INSERT INTO crsync_cells (dataset, tbl, pk, cid, val_type, val_int, val_real, val_bytes, col_version, cl, db_version, seq, site_id, pusher)
  SELECT $1, u.*, $14::bytea FROM unnest($2::text[], $3::bytea[], $4::text[], $5::int2[], $6::int8[], $7::float8[], $8::bytea[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::bytea[]) AS u`;

/** Who uploaded the file, and the schema checkUpload read from it. */
export interface PgUpload {
  name: string;
  path: string;
  schema: ReplicatedSchema;
  site: Uint8Array;
  version: bigint;
  owner?: Uint8Array;
}

/** What the upload became (SnapshotAdopted). */
export interface PgAdopted {
  site: Uint8Array;
  version: bigint;
  changes: number;
  replaced: boolean;
}

/**
 * Loads a checked upload into the PostgreSQL store as dataset `up.name`, in one transaction under
 * the dataset's row lock, as the SQLite store adopts the file: only where the dataset is new
 * (then with a fresh hub site id) or holds no change, conflict or resolution and a schema the
 * upload holds whole (else dataset_not_empty, nothing written); every cell under its writer's
 * site id with the file's clocks and stream positions, brought by the uploader (so its pulls
 * leave them out); the uploader's stream recorded as received to the end of its version and
 * seen to it; its site bound to the token that sent it. An empty dataset that is replaced
 * keeps its row and site id: other hub processes know both, and no change was ever made under it.
 */
export async function adoptIntoPg(url: string, up: PgUpload): Promise<PgAdopted> {
  return withConnection(url, async (c) => {
    await c.query('BEGIN');
    try {
      const fresh = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
      const created = (await c.query('INSERT INTO crsync_datasets (name, site_id, schema_hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id', [up.name, fresh, up.schema.hash])).rows.length > 0;
      const d = (await c.query('SELECT id, site_id, version, schema_tables FROM crsync_datasets WHERE name = $1 FOR UPDATE', [up.name])).rows[0] as { id: bigint; site_id: Buffer; version: bigint; schema_tables: string };
      const id = d.id.toString();
      if (!created) {
        if (d.version > 0n) throw notEmpty(up.name, 'it holds changes');
        const kept = (await c.query('SELECT (SELECT count(*) FROM crsync_conflicts WHERE dataset = $1) + (SELECT count(*) FROM crsync_resolutions WHERE dataset = $1) AS n', [id])).rows[0].n as bigint;
        if (kept > 0n) throw notEmpty(up.name, 'it holds conflicts or resolutions');
        if (!schemaWithin(JSON.parse(d.schema_tables) as TableSchema[], up.schema.tables)) throw notEmpty(up.name, NOT_WITHIN);
      }
      const pusher = Buffer.from(up.site);
      let changes = 0;
      for (const cells of uploadCells(up.path, up.schema, BATCH)) {
        const cols = [[], [], [], [], [], [], [], [], [], [], [], []] as unknown[][];
        for (const [tbl, pk, cid, val, cv, dbv, site, cl, seq] of cells) {
          const v = toPg(val);
          const row = [tbl, pk, cid, v.type, v.int, v.real, v.bytes, cv.toString(), cl.toString(), dbv.toString(), seq.toString(), site];
          for (let i = 0; i < row.length; i++) cols[i]!.push(row[i]);
        }
        await c.query({ name: 'crsync_adopt_cells', text: INSERT_CELLS, values: [id, ...cols, pusher] });
        changes += cells.length;
      }
      await c.query('UPDATE crsync_datasets SET version = $2, schema_tables = $3, schema_version = $4, schema_hash = $5 WHERE id = $1', [
        id, up.version.toString(), JSON.stringify(up.schema.tables), up.schema.version, up.schema.hash,
      ]);
      // A replaced dataset's records of other sites go with it, as its file does on the SQLite store.
      await c.query('DELETE FROM crsync_peers WHERE dataset = $1 AND site_id <> $2', [id, pusher]);
      await c.query(
        `INSERT INTO crsync_peers (dataset, site_id, recv_version, recv_seq, seen_version) VALUES ($1, $2, $3, $4, $3)
         ON CONFLICT (dataset, site_id) DO UPDATE SET recv_version = excluded.recv_version, recv_seq = excluded.recv_seq, seen_version = excluded.seen_version, last_seen = now()`,
        [id, pusher, up.version.toString(), END_OF_VERSION.toString()],
      );
      if (up.owner) await c.query('INSERT INTO crsync_site_owners (dataset, site_id, owner) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, pusher, Buffer.from(up.owner)]);
      await notifyChange(c, id);
      await c.query('COMMIT');
      return { site: d.site_id, version: up.version, changes, replaced: !created };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}
