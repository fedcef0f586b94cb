import type { Db } from '../store.js';
import { quoteIdent } from '../store.js';
import { getMeta, isInternalTable } from '../state/bookkeeping.js';

export type { ColumnSchema, TableSchema, ReplicatedSchema } from '../../sync/protocol/schema.js';
import { schemaHash, type ColumnSchema, type TableSchema, type ReplicatedSchema } from '../../sync/protocol/schema.js';
import { stmt } from '../statements.js';

export { schemaHash };

/** User tables of the database (crsync's and cr-sqlite's own excluded), sorted. */
export function listUserTables(db: Db): string[] {
  const names = stmt(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", { pluck: true })
    .all() as string[];
  return names.filter((n) => !isInternalTable(n));
}

/** True when the table exists (any kind of table). */
export function tableExists(db: Db, table: string): boolean {
  return stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** True when cr-sqlite replicates the table (its clock table exists). */
export function isReplicated(db: Db, table: string): boolean {
  return tableExists(db, `${table}__crsql_clock`);
}

/** Replicated tables, sorted by name. */
export function listReplicatedTables(db: Db): string[] {
  return listUserTables(db).filter((t) => isReplicated(db, t));
}

/** Columns of a table in declaration order. */
export function tableColumns(db: Db, table: string): ColumnSchema[] {
  const rows = stmt(db, `SELECT name, type, "notnull" AS nn, dflt_value, pk FROM pragma_table_info(?)`).all(table) as {
    name: string;
    type: string;
    nn: number;
    dflt_value: string | null;
    pk: number;
  }[];
  return rows.map((r) => ({
    name: r.name,
    type: (r.type ?? '').toUpperCase(),
    notnull: r.nn === 1,
    dflt: r.dflt_value,
    pk: r.pk,
  }));
}

/** Primary-key column names in key order. */
export function primaryKeyColumns(db: Db, table: string): string[] {
  return tableColumns(db, table)
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name);
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reasons cr-sqlite cannot replicate a table, each naming the offending thing; empty when it can.
 * Checked before crsql_as_crr so the user gets a precise message instead of a generic failure.
 */
export function trackProblems(db: Db, table: string): string[] {
  const problems: string[] = [];
  const cols = tableColumns(db, table);
  // cr-sqlite 0.16 builds its triggers and clock tables without quoting names.
  if (!PLAIN_NAME.test(table)) problems.push(`table name ${JSON.stringify(table)} needs quoting, which cr-sqlite cannot replicate`);
  for (const c of cols) {
    if (!PLAIN_NAME.test(c.name)) problems.push(`column name ${table}.${JSON.stringify(c.name)} needs quoting, which cr-sqlite cannot replicate`);
  }
  const ddl = stmt(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", { pluck: true }).get(table) as string | null;
  if (ddl && /\bAUTOINCREMENT\b/i.test(ddl)) {
    problems.push(`table ${table} has an AUTOINCREMENT key: two replicas would hand out the same ids (use a UUID or natural key)`);
  }
  const pks = cols.filter((c) => c.pk > 0);
  if (pks.length === 0) {
    problems.push(`table ${table} has no primary key`);
  }
  for (const c of pks) {
    if (!c.notnull) problems.push(`primary key column ${table}.${c.name} must be NOT NULL`);
  }
  const indexes = stmt(db, 'SELECT name, "unique" AS u, origin FROM pragma_index_list(?)').all(table) as {
    name: string;
    u: number;
    origin: string;
  }[];
  for (const ix of indexes) {
    if (ix.u === 1 && ix.origin !== 'pk') {
      const what = ix.origin === 'u' ? `UNIQUE constraint (${ix.name})` : `unique index ${ix.name}`;
      problems.push(`table ${table} has a ${what} besides its primary key`);
    }
  }
  const fks = stmt(db, 'SELECT "table" AS target, "from" AS col FROM pragma_foreign_key_list(?)').all(table) as {
    target: string;
    col: string;
  }[];
  for (const fk of fks) {
    problems.push(`column ${table}.${fk.col} has a foreign-key constraint (references ${fk.target})`);
  }
  for (const c of cols) {
    if (c.pk === 0 && c.notnull && c.dflt === null) {
      problems.push(`NOT NULL column ${table}.${c.name} has no default`);
    }
  }
  return problems;
}

/** Reads the replicated schema with its version and hash. */
export function readReplicatedSchema(db: Db): ReplicatedSchema {
  const tables = listReplicatedTables(db).map((name) => ({ name, columns: tableColumns(db, name) }));
  const version = Number(getMeta(db, 'schema_version') ?? 0);
  return { version, hash: schemaHash(tables), tables };
}

/** CREATE TABLE statement that recreates a replicated table from its schema. */
export function createTableSql(t: TableSchema): string {
  const defs = t.columns.map((c) => columnDefinition(c));
  const pk = t.columns
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => quoteIdent(c.name));
  defs.push(`PRIMARY KEY (${pk.join(', ')})`);
  return `CREATE TABLE ${quoteIdent(t.name)} (${defs.join(', ')})`;
}

/** A column definition (name, type, NOT NULL, DEFAULT) as used in CREATE and ALTER. */
export function columnDefinition(c: ColumnSchema): string {
  let def = quoteIdent(c.name);
  if (c.type) def += ` ${c.type}`;
  if (c.notnull) def += ' NOT NULL';
  if (c.dflt !== null) def += ` DEFAULT ${c.dflt}`;
  return def;
}
