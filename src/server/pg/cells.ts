/*
 * The cells of every dataset on a PostgreSQL hub: one row per (dataset, table, key, column) as
 * cr-sqlite's crsql_changes shows it on a SQLite hub (`cid` '-1' is the row's sentinel), with
 * its clocks, its position in the dataset's stream, and which site's push brought that position
 * here (`pusher`: a pull by that site leaves the cell out, as the SQLite hub leaves out the
 * versions a site delivered).
 *
 * Invariants (kept by merge.ts):
 * - every cell of a row carries the row's causal length: the sentinel's col_version, or 1 for a
 *   row that has no sentinel (cr-sqlite shows the same in crsql_changes);
 * - a row with an even causal length has its sentinel only;
 * - (db_version, pusher) are written together: a merge gives every cell it writes the page's
 *   hub version and the pushing site.
 * Names are `COLLATE "C"` so they order by bytes, as SQLite's BINARY collation does.
 */
export const CELLS_DDL = `
CREATE TABLE IF NOT EXISTS crsync_cells (
  dataset bigint NOT NULL,
  tbl text COLLATE "C" NOT NULL,
  pk bytea NOT NULL,
  cid text COLLATE "C" NOT NULL,
  val_type smallint NOT NULL CHECK (val_type BETWEEN 1 AND 5),
  val_int bigint,
  val_real double precision,
  val_bytes bytea,
  col_version bigint NOT NULL,
  cl bigint NOT NULL,
  db_version bigint NOT NULL,
  seq bigint NOT NULL,
  site_id bytea NOT NULL,
  pusher bytea NOT NULL,
  PRIMARY KEY (dataset, tbl, pk, cid)
);
CREATE INDEX IF NOT EXISTS crsync_cells_stream ON crsync_cells (dataset, db_version, seq);
CREATE INDEX IF NOT EXISTS crsync_cells_pusher ON crsync_cells (dataset, pusher, db_version, seq);
`;

/** The columns of a cell as merge.ts and stream.ts read them, in this order. */
export const CELL_COLUMNS = 'tbl, pk, cid, val_type, val_int, val_real, val_bytes, col_version, cl, db_version, seq, site_id, pusher';

/** A row of crsync_cells as the pg client returns it (int8 as text). */
export interface CellRow {
  tbl: string;
  pk: Buffer;
  cid: string;
  val_type: number;
  val_int: string | null;
  val_real: number | null;
  val_bytes: Buffer | null;
  col_version: string;
  cl: string;
  db_version: string;
  seq: string;
  site_id: Buffer;
  pusher: Buffer;
}
