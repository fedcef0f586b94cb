import type { ParsedStatement } from './parse.js';

/** A statement crsync will not run, and why. */
export interface Refusal {
  /** 1-based statement number. */
  statement: number;
  /** First line of the statement. */
  sql: string;
  reason: string;
}

/** Why a crsql_* call in a migration is refused. */
function crsqlReason(fn: string): string {
  const f = fn.toLowerCase();
  if (f === 'crsql_begin_alter' || f === 'crsql_commit_alter') {
    return `it calls ${fn}: crsync migrate wraps the ALTERs of replicated tables itself (remove the call)`;
  }
  if (f === 'crsql_as_crr') return `it calls ${fn}: make new tables replicated with --track <table>`;
  return `it calls ${fn}: cr-sqlite's functions are not part of a migration`;
}

/** Why an ALTER TABLE ... ADD COLUMN on a replicated table is unsafe, or null. */
function addColumnReason(s: ParsedStatement, table: string): string | null {
  const f = s.flags;
  const col = `${table}.${s.column ?? '?'}`;
  if (!f) return null;
  if (f.primaryKey) return `it adds primary-key column ${col}: cr-sqlite cannot change the primary key of a replicated table`;
  if (f.unique) return `it adds UNIQUE column ${col}: merges from other replicas cannot respect a unique constraint`;
  if (f.references) return `it adds foreign key ${col}: cr-sqlite does not replicate tables with foreign keys`;
  if (f.notnull && !f.hasDefault) {
    return `it adds NOT NULL column ${col} without a default: rows from replicas that have not migrated would have no value for it`;
  }
  if (f.hasDefault && !f.literalDefault) {
    return `the default of ${col} is not a plain literal (a number, 'text', x'blob', NULL, TRUE or FALSE): other replicas could not add the column`;
  }
  return null;
}

/** One step of running a migration: a statement, or cr-sqlite's alter bracket around a table's ALTERs. */
export type MigrationStep =
  | { op: 'run'; statement: ParsedStatement }
  | { op: 'begin_alter' | 'commit_alter'; table: string; statement: ParsedStatement };

/** Statements that change no rows, so a run of ALTERs can go on across them. */
const SCHEMA_ONLY = new Set(['create_table', 'create_index', 'create_view', 'create_trigger', 'drop_index', 'drop_view', 'drop_trigger']);

/**
 * Orders the alter brackets. A run of ADD COLUMNs (to one or several replicated tables, with
 * schema-only statements between) opens one alter per table and commits them all at its end:
 * cr-sqlite reads the tables' column layouts at the first commit, so it then sees every ALTER of
 * the run. Any other statement closes the run first, so no write happens while triggers are down.
 */
export function planMigration(statements: ParsedStatement[], replicatedTable: (s: ParsedStatement) => string | undefined): MigrationStep[] {
  const steps: MigrationStep[] = [];
  let open: { table: string; statement: ParsedStatement }[] = [];
  const commitAll = (): void => {
    for (const o of open) steps.push({ op: 'commit_alter', ...o });
    open = [];
  };
  for (const s of statements) {
    const table = s.kind === 'add_column' ? replicatedTable(s) : undefined;
    if (table !== undefined) {
      if (!open.some((o) => o.table === table)) {
        open.push({ table, statement: s });
        steps.push({ op: 'begin_alter', table, statement: s });
      }
    } else if (!SCHEMA_ONLY.has(s.kind)) {
      commitAll();
    }
    steps.push({ op: 'run', statement: s });
  }
  commitAll();
  return steps;
}

/**
 * cr-sqlite 0.16 reads the column layout of replicated tables once per transaction: at the first
 * crsql_commit_alter or the first write to a replicated table. A table altered after that keeps
 * its old layout until the transaction ends, so a write to it in the same migration would lose the
 * new columns' changes (inserts) or fail (updates). Such writes are refused.
 */
function staleLayoutRefusals(steps: MigrationStep[], replicatedTable: (s: ParsedStatement) => string | undefined, refuse: (s: ParsedStatement, reason: string) => void): void {
  let loaded = false;
  const stale = new Set<string>();
  for (const step of steps) {
    if (step.op === 'begin_alter') {
      if (loaded) stale.add(step.table);
      continue;
    }
    if (step.op === 'commit_alter') {
      loaded = true;
      continue;
    }
    const s = step.statement;
    if (s.kind !== 'write') continue;
    const table = replicatedTable(s);
    const unknown = s.table === null;
    const hit = table !== undefined && stale.has(table) ? [table] : unknown ? [...stale] : [];
    if (hit.length > 0) {
      refuse(
        s,
        `it writes to ${hit.join(', ')} after an ALTER of it that cr-sqlite would not see before the transaction ends ` +
          '(it reads table layouts once per transaction, and an earlier write or ALTER already made it): run this part as a second migration',
      );
    }
    if (table !== undefined || unknown) loaded = true;
  }
}

/**
 * Checks every statement of a migration against the replicated tables before anything runs, and
 * plans how it runs. `replicated` maps lower-cased names to the tables' own names (SQLite names are case-insensitive).
 */
export function checkMigration(statements: ParsedStatement[], replicated: Map<string, string>): { refusals: Refusal[]; steps: MigrationStep[] } {
  const refusals: Refusal[] = [];
  const refuse = (s: ParsedStatement, reason: string): void => {
    refusals.push({ statement: s.index, sql: s.firstLine, reason });
  };
  // A replicated table renamed onto after a drop: the way SQLite changes a primary key or column types.
  const dropped = new Set(statements.filter((s) => s.kind === 'drop_table').map((s) => s.table?.toLowerCase()));
  const rebuilt = new Set(
    statements.filter((s) => s.kind === 'rename_table' && s.newName && dropped.has(s.newName.toLowerCase())).map((s) => s.newName!.toLowerCase()),
  );
  const replicatedTable = (s: ParsedStatement): string | undefined =>
    s.table !== null && s.schema === null ? replicated.get(s.table.toLowerCase()) : undefined;
  for (const s of statements) {
    if (s.crsqlCall) {
      refuse(s, crsqlReason(s.crsqlCall));
      continue;
    }
    if (s.internalNames.length > 0) {
      refuse(s, `it touches ${s.internalNames.join(', ')}: crsync's and cr-sqlite's own tables are not part of a migration`);
      continue;
    }
    if (s.kind === 'transaction') {
      refuse(s, 'crsync migrate runs the whole file in one transaction: remove BEGIN, COMMIT, SAVEPOINT and ROLLBACK');
      continue;
    }
    if (s.kind === 'outside_transaction') {
      refuse(s, 'it cannot run inside the transaction a migration runs in');
      continue;
    }
    if (s.kind === 'pragma') {
      refuse(s, 'PRAGMA statements are not part of a migration (settings are not replicated)');
      continue;
    }
    const table = replicatedTable(s);
    if (table === undefined) continue;
    switch (s.kind) {
      case 'drop_table':
        refuse(
          s,
          rebuilt.has(table.toLowerCase())
            ? `it rebuilds replicated table ${table} (the way SQLite changes a primary key or column types): cr-sqlite cannot carry that to other replicas`
            : `it drops replicated table ${table}: cr-sqlite cannot carry a dropped table to other replicas`,
        );
        break;
      case 'drop_column':
        refuse(s, `it drops column ${table}.${s.column ?? '?'}: replicas that have not migrated would go on sending changes to it`);
        break;
      case 'rename_column':
        refuse(s, `it renames column ${table}.${s.column ?? '?'}: replicas that have not migrated would go on writing the old name`);
        break;
      case 'rename_table':
        refuse(s, `it renames replicated table ${table}: changes from other replicas are addressed by the table's name`);
        break;
      case 'create_index':
        if (s.unique) refuse(s, `it creates a unique index on replicated table ${table}: merges from other replicas cannot respect it`);
        break;
      case 'add_column': {
        const why = addColumnReason(s, table);
        if (why) refuse(s, why);
        break;
      }
      default:
        break;
    }
  }
  const steps = planMigration(statements, replicatedTable);
  staleLayoutRefusals(steps, replicatedTable, refuse);
  return { refusals: refusals.sort((a, b) => a.statement - b.statement), steps };
}
