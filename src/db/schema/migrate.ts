import { ensureTxlogTriggers } from '../txlog.js';
import { CrsyncError, ExitCode } from '../../errors.js';
import { checkMigration, type MigrationStep, type Refusal } from '../../migrate/check.js';
import { parseMigration, type ParsedStatement, type StatementKind } from '../../migrate/parse.js';
import { recordMigration } from './apply.js';
import { trackTables } from '../replica.js';
import { describeExtras, diffSchemas } from './diff.js';
import { listReplicatedTables, readReplicatedSchema } from './read.js';
import { withStore, type Db, type Store } from '../store.js';

/** Inputs of `crsync migrate`. */
export interface MigrateOptions {
  dbPath: string;
  /** The migration's SQL text. */
  sql: string;
  /** Where the SQL came from (a file path, or stdin), recorded with the migration. */
  source: string;
  /** Tables to make replicated once the statements have run (tables the migration creates). */
  track?: string[];
  /** Check and run everything, then roll it back. */
  dryRun?: boolean;
}

/** One statement of a migration as it ran. */
export interface MigratedStatement {
  index: number;
  kind: StatementKind;
  table: string | null;
  /** First line of the statement. */
  sql: string;
}

/** Result of `crsync migrate`. */
export interface MigrateResult {
  db: string;
  statements: MigratedStatement[];
  /** Tables made replicated by --track. */
  tracked: string[];
  /** Replicated tables whose ALTERs ran between crsql_begin_alter and crsql_commit_alter. */
  altered: string[];
  /** False when the replicated schema is unchanged (the version then stays). */
  schemaChanged: boolean;
  previousVersion: number;
  schemaVersion: number;
  schemaHash: string;
  dryRun: boolean;
  ms: number;
}

class DryRunRollback extends Error {}

function refusedError(refusals: Refusal[]): CrsyncError {
  const lines = refusals.map((r) => `statement ${r.statement} (${r.sql}): ${r.reason}`);
  const message =
    lines.length === 1 ? `migration refused, nothing ran: ${lines[0]}` : `migration refused, nothing ran:\n  ${lines.join('\n  ')}`;
  return new CrsyncError('unsafe_migration', message, {
    details: { refused: refusals },
    hint: 'replicated tables can only grow: add tables (with --track) and columns with literal defaults; leave old ones in place',
  });
}

function failedError(s: ParsedStatement, err: unknown): CrsyncError {
  return new CrsyncError('migration_failed', `statement ${s.index} failed: ${(err as Error).message} (in: ${s.firstLine})`, {
    details: { statement: s.index, sql: s.firstLine },
    hint: 'nothing was changed: the migration runs in one transaction, and every replicated table still replicates',
    cause: err,
  });
}

function runOne(db: Db, s: ParsedStatement): void {
  try {
    const stmt = db.prepare(s.sql);
    if (stmt.reader) stmt.all();
    else stmt.run();
  } catch (err) {
    throw failedError(s, err);
  }
}

/** Runs the planned steps; returns the replicated tables that went through an alter bracket. */
function runSteps(db: Db, steps: MigrationStep[]): string[] {
  const altered: string[] = [];
  for (const step of steps) {
    if (step.op === 'run') {
      runOne(db, step.statement);
      continue;
    }
    try {
      db.prepare(`SELECT crsql_${step.op}(?)`).run(step.table);
    } catch (err) {
      throw failedError(step.statement, new Error(`crsql_${step.op}('${step.table}'): ${(err as Error).message}`));
    }
    if (step.op === 'begin_alter' && !altered.includes(step.table)) altered.push(step.table);
  }
  return altered;
}

/** Makes --track tables replicated; its errors say the whole migration rolled back. */
function trackAfter(store: Store, tables: string[]): string[] {
  if (tables.length === 0) return [];
  try {
    return trackTables(store, tables).tracked;
  } catch (err) {
    // cr-sqlite's own refusals (an AUTOINCREMENT key) arrive as plain SQLite errors.
    const e = err instanceof CrsyncError ? err : new CrsyncError('not_trackable', (err as Error).message, { cause: err });
    const hint = e.code === 'no_such_table' ? 'the migration did not create it (check the name given to --track)' : e.hint;
    // Override: the migration ran and was rolled back, so it failed (exit 1) even when the --track
    // refusal alone would be a usage error (an internal table).
    throw new CrsyncError(e.code, `migration rolled back, --track failed: ${e.message}`, { exitCode: ExitCode.failure, details: e.details, hint, cause: err });
  }
}

function capturesWrites(db: Db, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?").get(`${table}__crsql_itrig`) !== undefined;
}

/**
 * Runs a migration against a replica in one transaction, the way cr-sqlite needs: unsafe
 * statements are refused before anything runs; on any error nothing changes.
 */
export function runMigration(opts: MigrateOptions): MigrateResult {
  const started = performance.now();
  const statements = parseMigration(opts.sql);
  if (statements.length === 0) {
    throw new CrsyncError('empty_migration', `no SQL statement in ${opts.source}`, { hint: 'a migration is a file of SQL statements separated by semicolons' });
  }
  return withStore(opts.dbPath, {}, (store) => {
    const { db } = store;
    const replicated = new Map(listReplicatedTables(db).map((t) => [t.toLowerCase(), t]));
    const { refusals, steps } = checkMigration(statements, replicated);
    if (refusals.length > 0) throw refusedError(refusals);
    const before = readReplicatedSchema(db);
    let result: MigrateResult | undefined;
    const migrate = db.transaction(() => {
      const altered = runSteps(db, steps);
      const tracked = trackAfter(store, opts.track ?? []);
      // Safety net under the checks: every replicated table still captures writes, and the
      // replicated schema only grew.
      const lost = before.tables.map((t) => t.name).filter((t) => !capturesWrites(db, t));
      const after = readReplicatedSchema(db);
      const diff = diffSchemas(after.tables, before.tables);
      if (lost.length > 0 || (diff.relation !== 'equal' && diff.relation !== 'local_ahead')) {
        const what = [...lost.map((t) => `${t} no longer replicates`), ...diff.mismatches, ...describeExtras(diff.remoteExtras).map((x) => `${x} is gone`)];
        throw new CrsyncError('unsafe_migration', `migration rolled back: ${what.join('; ')}`, {
          details: { problems: what },
          hint: 'replicated tables can only grow: add tables (with --track) and columns with literal defaults',
        });
      }
      const schemaChanged = after.hash !== before.hash;
      ensureTxlogTriggers(db);
      const trackNote = tracked.map((t) => `\n-- --track ${t}`).join('');
      const version = schemaChanged ? recordMigration(db, opts.sql.trim() + trackNote, `migrate ${opts.source}`) : before.version;
      result = {
        db: store.path,
        statements: statements.map((s) => ({ index: s.index, kind: s.kind, table: s.table, sql: s.firstLine })),
        tracked,
        altered,
        schemaChanged,
        previousVersion: before.version,
        schemaVersion: version,
        schemaHash: after.hash,
        dryRun: opts.dryRun === true,
        ms: 0,
      };
      if (opts.dryRun) throw new DryRunRollback();
    });
    try {
      migrate.immediate();
    } catch (err) {
      if (!(err instanceof DryRunRollback)) throw err;
    }
    return { ...result!, ms: Math.round(performance.now() - started) };
  });
}
