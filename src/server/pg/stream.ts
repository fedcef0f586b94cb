import type { ClientBase } from 'pg';
import type { Change, Cursor } from '../../sync/protocol/types.js';
import { CELL_COLUMNS, type CellRow } from './cells.js';
import { fromPg, parseBigint } from './values.js';

/*
 * A dataset's stream: its cells in (db_version, seq) order, as crsql_changes orders a SQLite
 * hub's. Cells that share a position (a resurrecting column change and its sentinel; zeroed
 * cells) follow in (tbl, pk, cid) order, so a page is the same however often it is read.
 * Leaving out a site's cells is leaving out the versions its pushes produced: every cell a merge
 * writes gets the page's version and the pusher together (cells.ts).
 */

const AFTER = '(db_version, seq) > ($2::bigint, $3::bigint)';
const ORDER = 'ORDER BY db_version, seq, tbl, pk, cid';

const PAGE_SQL = `SELECT ${CELL_COLUMNS} FROM crsync_cells WHERE dataset = $1 AND ${AFTER} ${ORDER} LIMIT $4`;
const PAGE_EXCLUDING_SQL = `SELECT ${CELL_COLUMNS} FROM crsync_cells WHERE dataset = $1 AND ${AFTER} AND pusher <> $5 ${ORDER} LIMIT $4`;

// Both counts run on an index alone: the stream index for everything after the cursor, the
// pusher index for the excluded site's part of it (subtracted), so a small remainder of a big
// dataset costs a small index range either way.
const COUNT_SQL = `SELECT count(*) AS n FROM crsync_cells WHERE dataset = $1 AND ${AFTER}`;
const COUNT_OF_SQL = `SELECT count(*) AS n FROM crsync_cells WHERE dataset = $1 AND pusher = $4 AND ${AFTER}`;

/** A cell as a change on the wire. */
export function toChange(r: CellRow): Change {
  return [
    r.tbl,
    r.pk,
    r.cid,
    fromPg(r.val_type, r.val_int, r.val_real, r.val_bytes),
    parseBigint(r.col_version),
    parseBigint(r.db_version),
    r.site_id,
    parseBigint(r.cl),
    parseBigint(r.seq),
  ];
}

/** The changes after `since`, at most `limit`, in stream order, leaving out the cells `exclude`'s pushes brought. */
export async function readPage(client: ClientBase, dataset: bigint, since: Cursor, exclude: Uint8Array | undefined, limit: number): Promise<Change[]> {
  const values: unknown[] = [dataset.toString(), since.version.toString(), since.seq.toString(), limit];
  const q = exclude
    ? { name: 'crsync_stream_page_excluding', text: PAGE_EXCLUDING_SQL, values: [...values, Buffer.from(exclude)] }
    : { name: 'crsync_stream_page', text: PAGE_SQL, values };
  const r = await client.query<CellRow>(q);
  return r.rows.map(toChange);
}

/** How many changes readPage would return from `since` on, without a limit. */
export async function countAfter(client: ClientBase, dataset: bigint, since: Cursor, exclude: Uint8Array | undefined): Promise<number> {
  const values = [dataset.toString(), since.version.toString(), since.seq.toString()];
  const all = await client.query<{ n: string }>({ name: 'crsync_stream_count', text: COUNT_SQL, values });
  let n = Number(all.rows[0]?.n ?? 0);
  if (exclude) {
    const own = await client.query<{ n: string }>({ name: 'crsync_stream_count_of', text: COUNT_OF_SQL, values: [...values, Buffer.from(exclude)] });
    n -= Number(own.rows[0]?.n ?? 0);
  }
  return n;
}
