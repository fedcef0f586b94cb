import { createHash } from 'node:crypto';

// The replicated schema as both sides of a sync describe and compare it (info, POST /schema).

/** A column of a replicated table, as both sides of a sync compare it. */
export interface ColumnSchema {
  name: string;
  /** Declared type, upper-cased ('' when none). */
  type: string;
  notnull: boolean;
  /** Default expression as written in the DDL, or null. */
  dflt: string | null;
  /** 1-based position in the primary key, 0 when not part of it. */
  pk: number;
}

/** A replicated table's shape. */
export interface TableSchema {
  name: string;
  columns: ColumnSchema[];
}

/** The replicated schema of a replica: its tables sorted by name, with a version and a hash. */
export interface ReplicatedSchema {
  /** Number of migrations applied (crsync migrate, or propagated); grows with each migration. */
  version: number;
  /** sha256 (hex) of the normalized table list. */
  hash: string;
  tables: TableSchema[];
}

/** Hash of a normalized table list (order of tables by name, columns by position). */
export function schemaHash(tables: TableSchema[]): string {
  const normalized = [...tables]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => [t.name, t.columns.map((c) => [c.name, c.type, c.notnull, c.dflt, c.pk])]);
  return createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}
