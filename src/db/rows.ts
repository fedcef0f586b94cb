import type { SqlValue } from '../values.js';
import { primaryKeyColumns, tableColumns } from './schema/read.js';
import { quoteIdent, type Db } from './store.js';

/** A table's rows in primary-key order, as arrays of exact values (64-bit integers as bigint). */
export function tableRows(db: Db, table: string): { columns: string[]; rows: IterableIterator<SqlValue[]> } {
  const columns = tableColumns(db, table).map((c) => c.name);
  const pk = primaryKeyColumns(db, table);
  const order = pk.length > 0 ? ` ORDER BY ${pk.map(quoteIdent).join(', ')}` : '';
  const stmt = db.prepare(`SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)}${order}`);
  stmt.raw(true).safeIntegers(true);
  return { columns, rows: stmt.iterate() as IterableIterator<SqlValue[]> };
}
