import Database from 'better-sqlite3';
import type { SqlValue } from '../values.js';
import type { TableSchema } from '../sync/protocol/schema.js';

/*
 * SQLite's column affinity, for a hub that keeps cells outside SQLite (the PostgreSQL store). On
 * a SQLite hub cr-sqlite writes each winning value into the dataset's table, whose declared column
 * types convert it (a TEXT '12' into an INTEGER column is stored, and served, as the integer 12),
 * and crsql_changes reads the converted value back. Honest clients convert before they send, so
 * only hand-made changes differ; converting the winners the same way makes both hubs serve the
 * same values. The conversions whose digits SQLite computes with its own approximate routines
 * (a REAL as text, text read as a number) are asked of SQLite itself, in memory; they happen only
 * for such hand-made values. Checked against SQLite columns in test/unit/pg-affinity.test.ts.
 */

export type Affinity = 'integer' | 'text' | 'blob' | 'real' | 'numeric';

/** The affinity of a declared column type (SQLite's rules, in their order: datatype3.html 3.1). */
export function affinityOf(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB') || t === '') return 'blob';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'real';
  return 'numeric';
}

type Converter = (v: SqlValue) => SqlValue;
let converters: Record<'text' | 'real' | 'numeric', Converter> | undefined;

/** One in-memory SQLite table with a column of each converting affinity; a value goes in and comes back out. */
function sqlite(): Record<'text' | 'real' | 'numeric', Converter> {
  if (converters) return converters;
  const db = new Database(':memory:');
  db.defaultSafeIntegers(true);
  db.exec('CREATE TABLE a (t TEXT, r REAL, n NUMERIC)');
  const make = (col: string): Converter => {
    const ins = db.prepare(`INSERT INTO a (${col}) VALUES (?)`);
    const get = db.prepare(`SELECT ${col} FROM a WHERE rowid = ?`).pluck();
    const del = db.prepare('DELETE FROM a');
    return (v) => {
      const { lastInsertRowid } = ins.run(v);
      const out = get.get(lastInsertRowid) as SqlValue;
      del.run();
      return out;
    };
  };
  converters = { text: make('t'), real: make('r'), numeric: make('n') };
  return converters;
}

/** sqlite3VdbeIntegerAffinity: a REAL that is exactly an integer strictly inside int64's range. */
function integral(r: number): SqlValue {
  return Number.isInteger(r) && r > -(2 ** 63) && r < 2 ** 63 ? BigInt(r) : r;
}

/** Text SQLite could read as a number has a digit somewhere; other text stays text in any column. */
const MAY_BE_NUMBER = /\d/;

/** A value as a column of that affinity stores it. */
export function applyAffinity(v: SqlValue, affinity: Affinity): SqlValue {
  // SQLite binds a NaN as NULL, whatever the column.
  if (typeof v === 'number' && Number.isNaN(v)) return null;
  if (v === null || v instanceof Uint8Array || affinity === 'blob') return v;
  switch (affinity) {
    case 'text':
      return typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? sqlite().text(v) : v;
    case 'real':
      if (typeof v === 'string') return MAY_BE_NUMBER.test(v) ? sqlite().real(v) : v;
      // A REAL column keeps integral values as integers on disk: -0 reads back as 0.
      return typeof v === 'bigint' ? Number(v) : v === 0 ? 0 : v;
    default:
      if (typeof v === 'string') return MAY_BE_NUMBER.test(v) ? sqlite().numeric(v) : v;
      return typeof v === 'number' ? integral(v) : v;
  }
}

/** Converts a table's column values by their declared types; key columns, sentinels and unknown names pass as they are. */
export function affinityConverter(tables: TableSchema[]): (table: string, cid: string, v: SqlValue) => SqlValue {
  const byTable = new Map(tables.map((t) => [t.name, new Map(t.columns.filter((c) => c.pk === 0).map((c) => [c.name, affinityOf(c.type)]))]));
  return (table, cid, v) => {
    const affinity = byTable.get(table)?.get(cid);
    return affinity === undefined ? v : applyAffinity(v, affinity);
  };
}
