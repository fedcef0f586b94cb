import type { Change } from '../../sync/protocol/types.js';
import { toJsonValue, type JsonSqlValue } from '../../values.js';
import { primaryKeyColumns, tableExists } from '../schema/read.js';
import type { Db } from '../store.js';
import { unpackPk } from '../conflicts/list.js';

/** One row's changes in a stream, as `crsync diff` shows them. */
export interface RowEntry {
  table: string;
  pk: Record<string, JsonSqlValue>;
  kind: 'insert' | 'update' | 'delete';
  /** The new value of each changed column (none for a delete). */
  columns: Record<string, JsonSqlValue>;
}

/**
 * Folds changes into one entry per row, in stream order of each row's first change. A row whose
 * latest life ended (even causal length) is a delete; one whose sentinel starts a life, or whose
 * cells are all at col_version 1 (written once, by the insert), an insert; anything else an update.
 */
export function rowEntries(db: Db, changes: Iterable<Change>): RowEntry[] {
  const rows = new Map<string, { table: string; pk: Uint8Array; cl: bigint; sentinel: boolean; fresh: boolean; columns: Record<string, JsonSqlValue> }>();
  for (const c of changes) {
    const key = c[0] + '\0' + Buffer.from(c[1]).toString('hex');
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { table: c[0], pk: c[1], cl: 0n, sentinel: false, fresh: true, columns: {} }));
    if (c[7] > r.cl) {
      // A later life of the row: what an earlier one wrote is gone.
      r.cl = c[7];
      r.columns = {};
      r.sentinel = false;
      r.fresh = true;
    }
    if (c[7] < r.cl) continue;
    if (c[2] === '-1') r.sentinel = true;
    else {
      r.columns[c[2]] = toJsonValue(c[3]);
      if (c[4] !== 1n) r.fresh = false;
    }
  }
  const names = new Map<string, string[]>();
  return [...rows.values()].map((r) => {
    let cols = names.get(r.table);
    if (!cols) names.set(r.table, (cols = tableExists(db, r.table) ? primaryKeyColumns(db, r.table) : []));
    const pk: Record<string, JsonSqlValue> = {};
    unpackPk(db, r.pk).forEach((v, i) => (pk[cols[i] ?? `pk${i + 1}`] = toJsonValue(v)));
    const deleted = r.cl % 2n === 0n;
    const kind = deleted ? 'delete' : r.sentinel || (r.fresh && Object.keys(r.columns).length > 0) ? 'insert' : 'update';
    return { table: r.table, pk, kind, columns: deleted ? {} : r.columns };
  });
}
