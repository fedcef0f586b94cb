import { fromJsonValue, parseSqlJson } from '../../values.js';
import type { WireConflict } from '../../sync/protocol/types.js';
import { packedPkProblem } from '../changes/packed-pk.js';
import { listReplicatedTables, tableColumns, type TableSchema } from '../schema/read.js';
import type { Db } from '../store.js';

/*
 * Conflict records that arrive from another replica (a client's report to a hub, a hub's relay
 * to a client) are checked before they are recorded: a forged one must not break its victim's
 * `conflicts` and `resolve` (a side that is not crsync JSON) nor let `resolve --theirs` rewrite
 * a primary key (a conflict named on a key column).
 */

interface TableShape {
  columns: Set<string>;
  keys: Set<string>;
}

/** Most bytes of one side of a conflict (a row of a few large values fits well within it). */
const MAX_SIDE_TEXT = 1024 * 1024;

/** A cell value in crsync JSON text, or undefined when it is not one. */
function cellSide(text: string): boolean {
  if (text.length > MAX_SIDE_TEXT) return false;
  try {
    return fromJsonValue(parseSqlJson(text)) !== undefined;
  } catch {
    return false;
  }
}

/** A row side of a delete_update: null (deleted) or an object of this table's columns. */
function rowSide(text: string, shape: TableShape): boolean {
  if (text.length > MAX_SIDE_TEXT) return false;
  let v: unknown;
  try {
    v = parseSqlJson(text);
  } catch {
    return false;
  }
  if (v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.entries(v as Record<string, unknown>).every(([k, x]) => shape.columns.has(k) && fromJsonValue(x) !== undefined);
}

/** Checks reported conflicts against one replica's schema. */
export class ReportedConflictCheck {
  private readonly tables = new Map<string, TableShape>();

  /** Of a replica's schema as it is, or of a schema as described (a hub whose tables are elsewhere). */
  constructor(source: Db | TableSchema[]) {
    const tables = Array.isArray(source) ? source : listReplicatedTables(source).map((name) => ({ name, columns: tableColumns(source, name) }));
    for (const t of tables) {
      this.tables.set(t.name, { columns: new Set(t.columns.map((c) => c.name)), keys: new Set(t.columns.filter((c) => c.pk > 0).map((c) => c.name)) });
    }
  }

  /** Why `c` cannot be a conflict between two writes of this replica's tables, or null. */
  problem(c: WireConflict): string | null {
    const shape = this.tables.get(c.table);
    if (!shape) return `table ${c.table} is not replicated here`;
    const pk = packedPkProblem(c.pk, shape.keys.size);
    if (pk) return pk;
    if (c.oursSite && c.theirsSite && Buffer.from(c.oursSite).equals(c.theirsSite)) return 'both sides name the same site';
    const [o, t] = [c.oursColVersion, c.theirsColVersion];
    if (c.kind === 'update_update') {
      if (c.cid === null || !shape.columns.has(c.cid)) return `column ${String(c.cid)} is not a column of ${c.table}`;
      if (shape.keys.has(c.cid)) return `column ${c.cid} is part of the primary key (a key is never in conflict: it names the row)`;
      if (!c.oursSite || !c.theirsSite || o === null || t === null) return 'an update conflict names both writers and their versions';
      // cr-sqlite keeps the write with the higher col_version; only equal versions go by value.
      if (o !== t && (o > t) !== (c.winner === 'ours')) return `the winner is not the write with the higher col_version`;
      if (!cellSide(c.ours) || !cellSide(c.theirs)) return 'a side is not a crsync JSON value';
      return null;
    }
    if (c.cid !== null && c.cid !== '-1') return 'a delete_update conflict is about a row, not a column';
    if (o !== null && t !== null && (o < 1n || t < 1n || o === t)) return 'the two lives of the row are not distinct causal lengths';
    // The later life (higher causal length) decides the row.
    if (o !== null && t !== null && (o > t) !== (c.winner === 'ours')) return 'the winner is not the later life of the row';
    if (!rowSide(c.ours, shape) || !rowSide(c.theirs, shape)) return 'a side is not a row of the table in crsync JSON';
    return null;
  }
}
