import type { ClientBase } from 'pg';
import type { Change } from '../../sync/protocol/types.js';
import type { DetectedConflict } from '../../db/conflicts/detect.js';
import type { SqlValue } from '../../values.js';
import { CELL_COLUMNS, type CellRow } from './cells.js';
import { compareValues, fromPg, parseBigint, toPg } from './values.js';
import { detectConflicts, type Cell, type RowMerge } from './merge-conflicts.js';

/*
 * cr-sqlite 0.16.3's merge (crsql_merge_insert in core/src/changes_vtab_write.rs), as a hub on
 * PostgreSQL runs it. Checked against the extension (test/pg/merge-differential.test.ts); these
 * are the rules as invariants. A row's causal length `local_cl` is its sentinel's col_version,
 * else 1 when it has any cell, else 0. Each change of a page, in page order, against the state
 * the changes before it left:
 *  1. cl < local_cl: ignored.
 *  2. cl even (a delete, whatever its cid): ignored when cl = local_cl; else the row's cells go
 *     and its sentinel is written with the change's col_version, site and seq.
 *  3. cid '-1' with an odd cl: ignored when cl = local_cl; else (a resurrection, or the first
 *     sentinel of a pk-only row) the row's other cells are zeroed — col_version 0, the merge's
 *     db_version, their value, site and seq kept — and the sentinel is written (col_version as
 *     the change's, which a hub checks is its cl).
 *  4. a column change with an odd cl > local_cl resurrects the row first (as 3, the sentinel
 *     getting col_version = cl and the column change's site and seq), unless the row has no
 *     cells and cl = 1: then no sentinel is written at all (cr-sqlite creates sentinels only
 *     for pk-only inserts, deletes and resurrections). Either way the column change wins.
 *  5. a column change at cl = local_cl wins when its cell is absent, or has a lower
 *     col_version, or the same col_version and a lower value in cr-sqlite's order (values.ts
 *     compareValues: NULL < BLOB < TEXT < REAL < INTEGER). Equal values do not win: the cell
 *     keeps its site (cr-sqlite's merge-equal-values is off), so which site an equal cell
 *     shows depends on arrival order, on SQLite hubs too.
 *  6. a winner keeps its value, col_version and site_id; its db_version is the hub's next
 *     version (one per merge transaction, so one per page), its seq the change's position in
 *     the page (the SQLite hub's applier numbers the page 0, 1, ...; a resurrecting column
 *     change and its sentinel share one seq, and zeroed cells keep theirs).
 * Rows are independent, so the page is merged in memory row by row against the row's cells read
 * in one query, and the result written back with one statement: two round trips a page.
 */

export interface MergeInput {
  dataset: bigint;
  /** The hub version this page's winning changes get (the store holds the dataset's lock). */
  version: bigint;
  /** Site pushing. */
  pusher: Uint8Array;
  /** Hub versions <= seen are known to the pusher (as are versions it pushed itself). */
  seen: bigint;
  /** One page, as decoded from the wire (and checked: tables, columns, keys and clocks). */
  changes: Change[];
  /** Key column names, to build row objects for conflicts. */
  pkColumns: (table: string) => string[];
  /** All column names in declaration order (row objects follow it); else key columns, then cells by name. */
  columns?: (table: string) => string[];
  /**
   * A winning column value as the table stores it (its column's affinity: src/db/affinity.ts).
   * The merge compares the value as it came, as cr-sqlite compares before SQLite converts it.
   */
  stored?: (table: string, cid: string, v: SqlValue) => SqlValue;
}

export interface MergeResult {
  /** Changes that won (0: the store must not advance the dataset's version). */
  applied: number;
  /** As ConflictDetector finds them on a SQLite hub, winners settled. */
  conflicts: Omit<DetectedConflict, 'id'>[];
}

// One primary-key lookup per row the page touches: the LATERAL subquery (kept apart by OFFSET 0)
// stops the planner from scanning the whole dataset into a hash, which it prefers while the
// table has no statistics yet.
const READ_SQL = `SELECT ${CELL_COLUMNS.split(', ').map((c) => `c.${c}`).join(', ')}
  FROM unnest($2::text[], $3::bytea[]) AS k(tbl, pk)
  CROSS JOIN LATERAL (SELECT * FROM crsync_cells WHERE dataset = $1 AND tbl = k.tbl COLLATE "C" AND pk = k.pk OFFSET 0) AS c`;

const UPSERT = `INSERT INTO crsync_cells (dataset, tbl, pk, cid, val_type, val_int, val_real, val_bytes, col_version, cl, seq, site_id, db_version, pusher)
  SELECT $1, u.*, $13::bigint, $14::bytea FROM unnest($2::text[], $3::bytea[], $4::text[], $5::int2[], $6::int8[], $7::float8[], $8::bytea[], $9::int8[], $10::int8[], $11::int8[], $12::bytea[]) AS u
  ON CONFLICT (dataset, tbl, pk, cid) DO UPDATE SET val_type = excluded.val_type, val_int = excluded.val_int, val_real = excluded.val_real,
    val_bytes = excluded.val_bytes, col_version = excluded.col_version, cl = excluded.cl, seq = excluded.seq, site_id = excluded.site_id,
    db_version = excluded.db_version, pusher = excluded.pusher`;

/** Drops cells ($15.. keys) and upserts others ($1..$14) in one statement; the two sets never share a cell. */
const DELETE_AND_UPSERT = `WITH gone AS (DELETE FROM crsync_cells WHERE dataset = $1 AND (tbl, pk, cid) IN (SELECT * FROM unnest($15::text[], $16::bytea[], $17::text[])))
${UPSERT}`;

const DELETE_ONLY = `DELETE FROM crsync_cells WHERE dataset = $1 AND (tbl, pk, cid) IN (SELECT * FROM unnest($2::text[], $3::bytea[], $4::text[]))`;

function cellOf(r: CellRow): Cell {
  return {
    val: fromPg(r.val_type, r.val_int, r.val_real, r.val_bytes),
    cv: parseBigint(r.col_version),
    dbv: parseBigint(r.db_version),
    seq: parseBigint(r.seq),
    site: r.site_id,
    pusher: r.pusher,
    cl: parseBigint(r.cl),
  };
}

/** The row's causal length as cr-sqlite reads it (get_local_cl). */
export function localCl(cells: Map<string, Cell>): bigint {
  const sentinel = cells.get('-1');
  if (sentinel) return sentinel.cv;
  return cells.size > 0 ? 1n : 0n;
}

/** Merges one row's changes into its cells, in page order (rules 1-6 above). Returns how many won. */
function mergeRow(row: RowMerge, version: bigint, pusher: Buffer, stored: MergeInput['stored']): number {
  const cells = row.after;
  let applied = 0;
  const write = (cid: string, val: SqlValue, cv: bigint, site: Uint8Array, seq: bigint): void => {
    cells.set(cid, { val, cv, dbv: version, seq, site: Buffer.from(site), pusher, cl: 0n });
  };
  const zeroOthers = (): void => {
    for (const [cid, c] of cells) if (cid !== '-1') cells.set(cid, { ...c, cv: 0n, dbv: version, pusher });
  };
  for (const { change: c, seq } of row.changes) {
    const [, , cid, val, cv, , site, cl] = c;
    const local = localCl(cells);
    if (cl < local) continue;
    if (cl % 2n === 0n) {
      if (cl === local) continue;
      write('-1', null, cv, site, seq);
      for (const k of [...cells.keys()]) if (k !== '-1') cells.delete(k);
      applied++;
      continue;
    }
    if (cid === '-1') {
      if (cl === local) continue;
      zeroOthers();
      write('-1', null, cv, site, seq);
      applied++;
      continue;
    }
    const resurrects = cl > local;
    if (resurrects && (local !== 0n || cl > 1n)) {
      zeroOthers();
      write('-1', null, cl, site, seq);
    }
    if (!resurrects && local !== 0n) {
      const mine = cells.get(cid);
      if (mine && (cv < mine.cv || (cv === mine.cv && compareValues(val, mine.val) <= 0))) continue;
    }
    write(cid, stored ? stored(row.table, cid, val) : val, cv, site, seq);
    applied++;
  }
  return applied;
}

/** Groups a page by row, in order of first appearance; each change keeps its page position as seq. */
function groupRows(changes: Change[]): Map<string, RowMerge> {
  const rows = new Map<string, RowMerge>();
  changes.forEach((change, i) => {
    const key = change[0] + '\0' + Buffer.from(change[1].buffer, change[1].byteOffset, change[1].byteLength).toString('latin1');
    let row = rows.get(key);
    if (!row) {
      row = { table: change[0], pk: Buffer.from(change[1]), changes: [], before: new Map(), after: new Map() };
      rows.set(key, row);
    }
    row.changes.push({ change, seq: BigInt(i) });
  });
  return rows;
}

/** Merges one page into the dataset's cells, inside the store's transaction (which holds the dataset's lock). */
export async function mergePage(client: ClientBase, input: MergeInput): Promise<MergeResult> {
  if (input.changes.length === 0) return { applied: 0, conflicts: [] };
  const rows = groupRows(input.changes);
  const tbls: string[] = [];
  const pks: Buffer[] = [];
  for (const r of rows.values()) {
    tbls.push(r.table);
    pks.push(r.pk);
  }
  // Unnamed, so planned for each page: a named statement's generic plan, made while the dataset
  // was small and had no statistics, scanned the whole dataset for every page (a first push of
  // 19,200 changes in pages of 100 took 37 s instead of 4 s, each page slower than the last).
  const found = await client.query<CellRow>({ text: READ_SQL, values: [input.dataset.toString(), tbls, pks] });
  for (const r of found.rows) rows.get(r.tbl + '\0' + r.pk.toString('latin1'))?.before.set(r.cid, cellOf(r));

  const pusher = Buffer.from(input.pusher);
  let applied = 0;
  for (const row of rows.values()) {
    row.after = new Map(row.before);
    applied += mergeRow(row, input.version, pusher, input.stored);
  }
  const conflicts = detectConflicts(rows.values(), input);
  if (applied > 0) await writeBack(client, input, rows);
  return { applied, conflicts };
}

/** Writes what changed: cells whose content or row causal length moved, and the cells a delete dropped. */
async function writeBack(client: ClientBase, input: MergeInput, rows: Map<string, RowMerge>): Promise<void> {
  const up = { tbl: [] as string[], pk: [] as Buffer[], cid: [] as string[], type: [] as number[], int: [] as (string | null)[] };
  const upMore = { real: [] as (string | null)[], bytes: [] as (Buffer | null)[], cv: [] as string[], cl: [] as string[], seq: [] as string[], site: [] as Buffer[] };
  const gone = { tbl: [] as string[], pk: [] as Buffer[], cid: [] as string[] };
  for (const row of rows.values()) {
    const cl = localCl(row.after);
    for (const [cid, c] of row.after) {
      const was = row.before.get(cid);
      if (was === c && was.cl === cl) continue;
      const v = toPg(c.val);
      up.tbl.push(row.table);
      up.pk.push(row.pk);
      up.cid.push(cid);
      up.type.push(v.type);
      up.int.push(v.int);
      upMore.real.push(v.real);
      upMore.bytes.push(v.bytes);
      upMore.cv.push(c.cv.toString());
      upMore.cl.push(cl.toString());
      upMore.seq.push(c.seq.toString());
      upMore.site.push(c.site);
    }
    for (const cid of row.before.keys()) {
      if (row.after.has(cid)) continue;
      gone.tbl.push(row.table);
      gone.pk.push(row.pk);
      gone.cid.push(cid);
    }
  }
  const dataset = input.dataset.toString();
  if (up.tbl.length === 0) {
    // Statements that find cells by key are unnamed, planned for each page (see the read above).
    if (gone.tbl.length > 0) await client.query({ text: DELETE_ONLY, values: [dataset, gone.tbl, gone.pk, gone.cid] });
    return;
  }
  const values: unknown[] = [dataset, up.tbl, up.pk, up.cid, up.type, up.int, upMore.real, upMore.bytes, upMore.cv, upMore.cl, upMore.seq, upMore.site, input.version.toString(), Buffer.from(input.pusher)];
  if (gone.tbl.length === 0) await client.query({ name: 'crsync_merge_upsert', text: UPSERT, values });
  else await client.query({ text: DELETE_AND_UPSERT, values: [...values, gone.tbl, gone.pk, gone.cid] });
}
