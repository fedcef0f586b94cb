import { CrsyncError } from '../../errors.js';
import type { SchemaRequest } from '../../sync/protocol/types.js';
import { diffSchemas, type SchemaDiff, type SchemaExtras } from './diff.js';
import { columnDefinition, createTableSql, listReplicatedTables, readReplicatedSchema, type ReplicatedSchema } from './read.js';
import { quoteIdent, type Db } from '../store.js';
import { getMeta, setMeta } from '../state/bookkeeping.js';
import { ensureTxlogTriggers } from '../txlog.js';

/**
 * Applies additive schema changes (new replicated tables, new columns) in one transaction, the
 * way cr-sqlite needs: crsql_begin_alter/commit_alter around each ALTER. Returns the SQL run.
 * A replica with no replicated table yet (a new dataset, a clone) takes the sender's version as
 * it is, so that equal schemas show equal versions.
 */
export function applyAdditiveSchema(db: Db, extras: SchemaExtras, source: string, atLeastVersion = 0): string[] {
  const statements: string[] = [];
  db.transaction(() => {
    const fresh = listReplicatedTables(db).length === 0;
    for (const t of extras.tables) {
      const sql = createTableSql(t);
      db.prepare(sql).run();
      db.prepare('SELECT crsql_as_crr(?)').run(t.name);
      statements.push(sql + ';', `SELECT crsql_as_crr('${t.name.replace(/'/g, "''")}');`);
    }
    const byTable = new Map<string, SchemaExtras['columns']>();
    for (const c of extras.columns) byTable.set(c.table, [...(byTable.get(c.table) ?? []), c]);
    for (const [table, cols] of byTable) {
      db.prepare('SELECT crsql_begin_alter(?)').run(table);
      for (const { column } of cols) {
        const sql = `ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${columnDefinition(column)}`;
        db.prepare(sql).run();
        statements.push(sql + ';');
      }
      db.prepare('SELECT crsql_commit_alter(?)').run(table);
    }
    if (statements.length === 0) return;
    ensureTxlogTriggers(db);
    if (fresh) storeVersion(db, atLeastVersion, statements.join('\n'), source);
    else recordMigration(db, statements.join('\n'), source, atLeastVersion);
  })();
  return statements;
}

/**
 * What a schema request (a sender's whole replicated schema) adds to one whose tables are
 * `local`: the additive extras, or schema_mismatch for anything else.
 */
export function additionsOf(req: SchemaRequest, local: ReplicatedSchema['tables']): SchemaDiff['localExtras'] {
  const diff = diffSchemas(req.tables, local);
  if (diff.relation === 'diverged') {
    throw new CrsyncError('schema_mismatch', `schemas differ: ${diff.mismatches.join('; ')}`, {
      details: { mismatches: diff.mismatches },
      hint: 'only additive changes (new tables, new columns with defaults) are carried over',
    });
  }
  return diff.localExtras;
}

/**
 * Creates the replica's schema or carries over the additive changes of a schema request; anything
 * that is not additive is refused (schema_mismatch) and nothing changes. Returns the SQL run.
 */
export function applySchemaRequest(db: Db, req: SchemaRequest, source: string): string[] {
  const extras = additionsOf(req, readReplicatedSchema(db).tables);
  if (extras.tables.length + extras.columns.length === 0) return [];
  return applyAdditiveSchema(db, extras, source, req.version);
}

/** Bumps the schema version and records the migration (call inside the migration's transaction). */
export function recordMigration(db: Db, sql: string, source: string, atLeastVersion = 0): number {
  const current = Number(getMeta(db, 'schema_version') ?? 0);
  const version = Math.max(current + 1, atLeastVersion);
  storeVersion(db, version, sql, source);
  return version;
}

function storeVersion(db: Db, version: number, sql: string, source: string): void {
  setMeta(db, 'schema_version', version);
  const hash = readReplicatedSchema(db).hash;
  db.prepare('INSERT OR REPLACE INTO crsync_migrations (version, hash, sql, source, applied_at) VALUES (?, ?, ?, ?, ?)').run(
    version,
    hash,
    sql,
    source,
    new Date().toISOString(),
  );
}
