import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { CrsyncError, UsageError } from '../errors.js';
import type { SqlValue } from '../values.js';
import { tableColumns } from './schema/read.js';
import { quoteIdent, type Db } from './store.js';

/** The key --create adds when the file has none: random UUIDs, so replicas never collide. */
const GENERATED_KEY = 'id';

/** SQLite compares identifiers ASCII-case-insensitively. */
const foldCase = (name: string): string => name.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** A prepared insert for one set of file columns, or why rows with those columns are bad. */
type Insert = { stmt: Database.Statement; fillKey: boolean } | string;

/** The table rows go into: how file columns map onto it, and its prepared inserts. */
export class ImportTarget {
  private readonly byName = new Map<string, string>();
  private readonly inserts = new Map<string, Insert>();
  private lastColumns: readonly string[] | undefined;
  private lastInsert: Insert = '';

  constructor(
    private readonly db: Db,
    private readonly table: string,
    /** Filled with a random UUID when a row does not have it. */
    private readonly generatedKey: string | undefined,
    /** The line whose keys --create made the columns from (JSON), for messages. */
    private readonly createdFrom?: number,
  ) {
    for (const c of tableColumns(db, table)) this.byName.set(foldCase(c.name), c.name);
  }

  /** File columns that are not columns of the table. */
  unknown(columns: readonly string[]): string[] {
    return columns.filter((c) => !this.byName.has(foldCase(c)));
  }

  /** Inserts one row; returns why it was refused (a bad line), or undefined. */
  insert(columns: readonly string[], values: SqlValue[]): string | undefined {
    // CSV rows share their header array, so the common case is one identity check.
    if (columns !== this.lastColumns) {
      this.lastColumns = columns;
      this.lastInsert = this.prepare(columns);
    }
    const insert = this.lastInsert;
    if (typeof insert === 'string') return insert;
    try {
      if (insert.fillKey) insert.stmt.run(randomUUID(), ...values);
      else insert.stmt.run(...values);
    } catch (err) {
      // A constraint or type failure is the row's fault; anything else (disk full, I/O) is not.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH')) return (err as Error).message;
      throw err;
    }
    return undefined;
  }

  private prepare(columns: readonly string[]): Insert {
    const cacheKey = columns.join('\u0000');
    const cached = this.inserts.get(cacheKey);
    if (cached !== undefined) return cached;
    let insert: Insert;
    const unknown = this.unknown(columns);
    const folded = columns.map(foldCase);
    if (unknown.length > 0) {
      const why = this.createdFrom === undefined ? '' : `, created from the keys on line ${this.createdFrom}`;
      insert = `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (not in table ${this.table}${why})`;
    } else if (new Set(folded).size < columns.length) {
      insert = 'the same column twice (column names ignore ASCII case)';
    } else {
      const names = columns.map((c) => this.byName.get(foldCase(c))!);
      const fillKey = this.generatedKey !== undefined && !folded.includes(foldCase(this.generatedKey));
      if (fillKey) names.unshift(this.generatedKey!);
      const sql = `INSERT INTO ${quoteIdent(this.table)} (${names.map(quoteIdent).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`;
      insert = { stmt: this.db.prepare(sql), fillKey };
    }
    // Files whose objects all differ in their keys must not grow this without bound.
    if (this.inserts.size > 1000) this.inserts.clear();
    this.inserts.set(cacheKey, insert);
    return insert;
  }
}

/** Checks the header (or the first object's keys) and creates the table or maps onto the existing one. */
export function prepareTarget(db: Db, options: { table: string; create?: boolean; pk?: string[] }, source: string, columns: readonly string[], line: number): ImportTarget {
  const { table } = options;
  const folded = columns.map(foldCase);
  const empty = columns.findIndex((c) => c.trim() === '');
  if (empty >= 0) throw new CrsyncError('bad_input', `line ${line} of ${source}: column ${empty + 1} has no name`, { details: { line } });
  const dup = columns.find((_, i) => folded.indexOf(folded[i]!) !== i);
  if (dup !== undefined) throw new CrsyncError('bad_input', `line ${line} of ${source}: column ${dup} appears twice`, { details: { line } });
  if (!options.create) {
    const pk = tableColumns(db, table).filter((c) => c.pk > 0);
    // Tables made by --create without a key get their ids generated again on later imports.
    const generated = pk.length === 1 && pk[0]!.name === GENERATED_KEY && pk[0]!.type === 'TEXT' ? GENERATED_KEY : undefined;
    const target = new ImportTarget(db, table, generated);
    const unknown = target.unknown(columns);
    if (unknown.length > 0) {
      const known = tableColumns(db, table).map((c) => c.name);
      throw new CrsyncError('unknown_columns', `${source} has column${unknown.length > 1 ? 's' : ''} that table ${table} lacks: ${unknown.join(', ')}`, {
        hint: `${table} has ${known.join(', ')}; rename the file's columns to match, or import into a new table with --create`,
        details: { unknown, columns: known },
      });
    }
    return target;
  }
  const pk = options.pk ?? [];
  const missing = pk.filter((k) => !folded.includes(foldCase(k)));
  if (missing.length > 0) {
    // A column named that the file does not have: not found (exit 1), as a missing table is.
    throw new CrsyncError('no_such_column', `--pk ${missing.join(', ')} is not a column of ${source}`, { hint: `its columns are ${columns.join(', ')}` });
  }
  if (pk.length === 0 && folded.includes(GENERATED_KEY)) {
    throw new UsageError(
      `${source} has an ${GENERATED_KEY} column, and --create without --pk would add its own`,
      `pass --pk ${GENERATED_KEY} to use the file's column as the primary key`,
    );
  }
  const pkFolded = new Set(pk.map(foldCase));
  // No declared types: values keep the type they have in the file (INTEGER, REAL, TEXT, BLOB).
  const defs = columns.map((c) => quoteIdent(c) + (pkFolded.has(foldCase(c)) ? ' NOT NULL' : ''));
  if (pk.length === 0) defs.unshift(`${quoteIdent(GENERATED_KEY)} TEXT NOT NULL PRIMARY KEY`);
  else defs.push(`PRIMARY KEY (${pk.map((k) => quoteIdent(columns[folded.indexOf(foldCase(k))]!)).join(', ')})`);
  db.exec(`CREATE TABLE ${quoteIdent(table)} (${defs.join(', ')})`);
  db.prepare('SELECT crsql_as_crr(?)').run(table);
  return new ImportTarget(db, table, pk.length === 0 ? GENERATED_KEY : undefined, line);
}

/**
 * The transaction an import writes in: all or nothing by default, or committed in batches.
 * Each insert into a replicated table fires cr-sqlite's triggers, so SQLite keeps a statement
 * journal; in a temp file that is ~18 writes per row, and most of the import's time.
 */
export class ImportTransaction {
  private readonly tempStore: number;

  constructor(private readonly db: Db) {
    this.tempStore = db.pragma('temp_store', { simple: true }) as number;
    db.pragma('temp_store = MEMORY');
    db.exec('BEGIN IMMEDIATE');
  }

  /** Commits what is written so far and opens the next batch. */
  commitAndContinue(): void {
    this.db.exec('COMMIT');
    this.db.exec('BEGIN IMMEDIATE');
  }

  commit(): void {
    this.db.exec('COMMIT');
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  /** Restores the connection's settings (after commit or rollback). */
  end(): void {
    this.db.pragma(`temp_store = ${this.tempStore}`);
  }
}
