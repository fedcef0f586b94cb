import type Database from 'better-sqlite3';
import { CrsyncError } from '../errors.js';
import type { SqlValue } from '../values.js';
import { withStore, type Db } from './store.js';
import { splitMigration } from '../sqltext/lex.js';

/** Rows of the last statement that returned rows. */
export interface SqlRows {
  columns: string[];
  rows: SqlValue[][];
}

/** What one statement of a script gave: rows, a count of rows changed (DML), or neither (DDL, PRAGMA...). */
export type SqlStatementResult =
  | { kind: 'rows'; columns: string[]; rows: SqlValue[][] }
  | { kind: 'changes'; changes: number }
  | { kind: 'done' };

/** Result of running a script of SQL statements. */
export interface SqlResult {
  statements: number;
  /** Rows changed by writing statements. */
  changes: number;
  /** Rows of the last statement that returned rows, or null when none did. */
  result: SqlRows | null;
  /** Every statement's result, in order. */
  results: SqlStatementResult[];
}

/** Splits SQL text into statements (quotes, comments and trigger bodies respected). */
export function splitStatements(sql: string): string[] {
  return splitMigration(sql).map((p) => p.sql);
}

const READ_ONLY = /^\s*(SELECT|EXPLAIN|VALUES)\b/i;
const TXN_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
/**
 * Statements whose count of changed rows means something. SQLite's changes() is not reset by
 * DDL, so a CREATE after an INSERT would report the INSERT's count: only DML gets one.
 */
const DML = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*(INSERT|UPDATE|DELETE|REPLACE|WITH)\b/i;

/** Prepares each statement in turn (later ones may depend on earlier ones) and runs it. */
function runEach(db: Db, pieces: string[], onRows: (stmt: Database.Statement) => void, results: SqlStatementResult[]): { statements: number; changes: number } {
  let statements = 0;
  let changes = 0;
  for (const text of pieces) {
    let stmt: Database.Statement;
    try {
      stmt = db.prepare(text);
    } catch (err) {
      throw sqlError(err, text, statements);
    }
    statements++;
    try {
      if (stmt.reader) onRows(stmt);
      else {
        const n = stmt.run().changes;
        if (DML.test(text)) {
          changes += n;
          results.push({ kind: 'changes', changes: n });
        } else results.push({ kind: 'done' });
      }
    } catch (err) {
      throw sqlError(err, text, statements - 1);
    }
  }
  return { statements, changes };
}

function sqlError(err: unknown, text: string, index: number): CrsyncError {
  const first = text.trim().split('\n')[0]!.slice(0, 80);
  return new CrsyncError('sql_error', `statement ${index + 1} failed: ${(err as Error).message} (in: ${first})`, {
    hint: 'nothing of this script was kept (it runs in one transaction unless it manages its own)',
    cause: err,
  });
}

/**
 * Runs one or more SQL statements with cr-sqlite loaded. Without explicit transaction
 * statements the whole script is one transaction: it all applies or nothing does.
 */
export function runSql(db: Db, sql: string): SqlResult {
  const pieces = splitStatements(sql);
  if (pieces.length === 0) {
    throw new CrsyncError('empty_sql', 'no SQL statement given', { hint: 'pass a statement, or - to read them from stdin' });
  }
  let result: SqlRows | null = null;
  const results: SqlStatementResult[] = [];
  const collect = (stmt: Database.Statement): void => {
    stmt.raw(true).safeIntegers(true);
    const columns = stmt.columns().map((c) => c.name);
    result = { columns, rows: stmt.all() as SqlValue[][] };
    results.push({ kind: 'rows', ...result });
  };
  const managesOwnTxn = pieces.some((p) => TXN_CONTROL.test(p));
  // A script that may write takes the write lock at BEGIN (IMMEDIATE): a deferred transaction
  // that reads first and then writes cannot wait for a pull's commit ("database is locked").
  const readOnly = pieces.every((p) => READ_ONLY.test(p));
  const txn = db.transaction(() => runEach(db, pieces, collect, results));
  const counts = managesOwnTxn ? runEach(db, pieces, collect, results) : readOnly ? txn() : txn.immediate();
  return { ...counts, result, results };
}

/**
 * `crsync sql`: runs a script on a replica. A SQLite file crsync has not initialised is refused
 * before anything touches it (loading cr-sqlite alone would add its tables).
 */
export function runSqlScript(dbPath: string, sql: string): SqlResult {
  return withStore(dbPath, { inspect: true }, (s) => runSql(s.db, sql));
}
