import type { ColumnSchema, TableSchema } from './read.js';

/** What one side has that the other lacks, all of it additive (safe to carry over). */
export interface SchemaExtras {
  /** Whole replicated tables. */
  tables: TableSchema[];
  /** New trailing columns of tables both sides have. */
  columns: { table: string; column: ColumnSchema }[];
}

/** How two replicated schemas relate. */
export interface SchemaDiff {
  relation: 'equal' | 'local_ahead' | 'remote_ahead' | 'both_ahead' | 'diverged';
  localExtras: SchemaExtras;
  remoteExtras: SchemaExtras;
  /** Human lines naming each non-additive difference (table and column). */
  mismatches: string[];
  /** Tables whose primary keys differ (a key column changed, or one side adds one). */
  keyTables: string[];
}

function sameColumn(a: ColumnSchema, b: ColumnSchema): boolean {
  return a.name === b.name && a.type === b.type && a.notnull === b.notnull && a.dflt === b.dflt && a.pk === b.pk;
}

function describeColumn(c: ColumnSchema): string {
  let s = `${c.name} ${c.type || 'ANY'}`;
  if (c.pk) s += ' PRIMARY KEY';
  if (c.notnull) s += ' NOT NULL';
  if (c.dflt !== null) s += ` DEFAULT ${c.dflt}`;
  return s;
}

/** Why a column that one side adds cannot be carried over, or null when it can. */
function unsafeAddition(table: string, c: ColumnSchema): string | null {
  if (c.pk > 0) return `${table}.${c.name} is a new primary-key column`;
  if (c.notnull && c.dflt === null) return `${table}.${c.name} is NOT NULL without a default`;
  return null;
}

/** Compares two replicated schemas table by table and column by column. */
export function diffSchemas(local: TableSchema[], remote: TableSchema[]): SchemaDiff {
  const localExtras: SchemaExtras = { tables: [], columns: [] };
  const remoteExtras: SchemaExtras = { tables: [], columns: [] };
  const mismatches: string[] = [];
  const keyTables = new Set<string>();
  const remoteByName = new Map(remote.map((t) => [t.name, t]));
  const localByName = new Map(local.map((t) => [t.name, t]));

  for (const lt of local) {
    const rt = remoteByName.get(lt.name);
    if (!rt) {
      localExtras.tables.push(lt);
      continue;
    }
    const n = Math.min(lt.columns.length, rt.columns.length);
    let diverged = false;
    for (let i = 0; i < n; i++) {
      const lc = lt.columns[i]!;
      const rc = rt.columns[i]!;
      if (!sameColumn(lc, rc)) {
        diverged = true;
        if (lc.pk > 0 || rc.pk > 0) keyTables.add(lt.name);
        mismatches.push(`table ${lt.name}, column ${i + 1}: local has ${describeColumn(lc)}, remote has ${describeColumn(rc)}`);
      }
    }
    if (diverged) continue;
    const [longer, extras, side] =
      lt.columns.length > n ? [lt, localExtras, 'local'] : [rt, remoteExtras, 'remote'];
    for (const c of longer.columns.slice(n)) {
      const why = unsafeAddition(lt.name, c);
      if (why) mismatches.push(`${side} only: ${why}`);
      if (why && c.pk > 0) keyTables.add(lt.name);
      else extras.columns.push({ table: lt.name, column: c });
    }
  }
  for (const rt of remote) {
    if (!localByName.has(rt.name)) remoteExtras.tables.push(rt);
  }

  const localAhead = localExtras.tables.length + localExtras.columns.length > 0;
  const remoteAhead = remoteExtras.tables.length + remoteExtras.columns.length > 0;
  let relation: SchemaDiff['relation'];
  if (mismatches.length > 0) relation = 'diverged';
  else if (localAhead && remoteAhead) relation = 'both_ahead';
  else if (localAhead) relation = 'local_ahead';
  else if (remoteAhead) relation = 'remote_ahead';
  else relation = 'equal';
  return { relation, localExtras, remoteExtras, mismatches, keyTables: [...keyTables] };
}

/**
 * What to do about a schema that diverged from a remote's. No migration can mend it: a
 * replicated table's existing columns and its key never change (only new tables and columns
 * are carried), so the way out is a replica with the remote's schema, and the rows copied over.
 */
export function divergedHint(diff: SchemaDiff, url: string): string {
  const fresh = `clone the remote into a new file (crsync clone ${url} <new.db>) and copy your rows into it (crsync export, then crsync import)`;
  if (diff.keyTables.length > 0) {
    const tables = diff.keyTables.join(', ');
    return `the primary key of ${tables} differs from the remote's: rows with different keys cannot merge, and no migration changes a key; ${fresh}`;
  }
  return `existing columns of a replicated table cannot change (only new tables and columns are carried over); ${fresh}`;
}

/** One line per extra, for messages ("table notes", "column items.color"). */
export function describeExtras(extras: SchemaExtras): string[] {
  return [
    ...extras.tables.map((t) => `table ${t.name}`),
    ...extras.columns.map((c) => `column ${c.table}.${c.column.name}`),
  ];
}
