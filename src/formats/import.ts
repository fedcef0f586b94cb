import { randomUUID } from 'node:crypto';
import { createReadStream, statSync, type ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { CrsyncError, UsageError } from '../errors.js';
import type { SqlValue } from '../values.js';
import { isInternalTable } from '../db/state/bookkeeping.js';
import { readRecords, formatFromPath, type DataFormat, type ImportRecord } from './readers.js';
import { tableColumns, tableExists } from '../db/schema/read.js';
import { quoteIdent, type Db, type Store } from '../db/store.js';

/** What to import, and how. */
export interface ImportOptions {
  table: string;
  /** Path of the file, or '-' to read `input`. */
  file: string;
  /** The stream read when file is '-' (stdin). */
  input?: Readable;
  /** Defaults to the one the file's extension implies. */
  format?: DataFormat;
  /** Create the table (replicated) from the header or the first object's keys. */
  create?: boolean;
  /** With create: primary-key columns; without, an `id` TEXT key of random UUIDs is added. */
  pk?: string[];
  /** Rows per progress report; with skipBad, rows per committed transaction. */
  batch?: number;
  /** Skip malformed lines (counted and reported) and commit in batches, instead of all or nothing. */
  skipBad?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

/** Where a running import is. */
export interface ImportProgress {
  rows: number;
  skipped: number;
  bytesRead: number;
  /** Size of the file; null for stdin. */
  totalBytes: number | null;
  ms: number;
}

/** Result of `crsync import`. */
export interface ImportResult {
  table: string;
  file: string;
  format: DataFormat;
  rows: number;
  skipped: number;
  /** Line numbers of the first skipped lines. */
  badLines: number[];
  /** What was wrong with them, each naming its line. */
  badLineErrors: string[];
  created: boolean;
  ms: number;
}

const SHOWN_BAD_LINES = 10;
/** The key --create adds when the file has none: random UUIDs, so replicas never collide. */
const GENERATED_KEY = 'id';

/** SQLite compares identifiers ASCII-case-insensitively. */
const foldCase = (name: string): string => name.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** Opens the input, with file_not_found and format errors before anything is written. */
function openInput(options: ImportOptions): { format: DataFormat; stream: Readable; totalBytes: number | null } {
  const { file } = options;
  const format = options.format ?? (file === '-' ? undefined : formatFromPath(file));
  if (!format) {
    throw new UsageError(
      file === '-' ? 'reading stdin (-) needs --format' : `cannot tell the format of ${file} from its extension`,
      'pass --format csv, ndjson or json (or name the file .csv, .ndjson, .jsonl or .json)',
      'unknown_format',
    );
  }
  if (file === '-') {
    if (!options.input) throw new UsageError('no input stream to read for -');
    return { format, stream: options.input, totalBytes: null };
  }
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new CrsyncError('file_not_found', `${file} is not a file`, { hint: 'pass the path of a data file' });
    size = st.size;
  } catch (err) {
    if (err instanceof CrsyncError) throw err;
    throw new CrsyncError('file_not_found', `no file at ${file}`, {
      hint: 'check the path; use - to read stdin (with --format)',
      cause: err,
    });
  }
  return { format, stream: createReadStream(file, { highWaterMark: 256 * 1024 }), totalBytes: size };
}

/** A prepared insert for one set of file columns, or why rows with those columns are bad. */
type Insert = { stmt: Database.Statement; fillKey: boolean } | string;

/** The table rows go into: how file columns map onto it, and its prepared inserts. */
class Target {
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
function prepareTarget(db: Db, options: ImportOptions, source: string, columns: readonly string[], line: number): Target {
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
    const target = new Target(db, table, generated);
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
    throw new UsageError(`--pk ${missing.join(', ')} is not a column of ${source}`, `its columns are ${columns.join(', ')}`);
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
  return new Target(db, table, pk.length === 0 ? GENERATED_KEY : undefined, line);
}

/**
 * Imports a CSV, NDJSON or JSON-array file into a table, streaming it. By default the whole
 * import is one transaction, so a bad line anywhere leaves the database as it was (SQLite spills
 * the open transaction to the file, so memory stays bounded). With skipBad, bad lines are skipped
 * and every `batch` rows are committed.
 */
export async function importFile(store: Store, options: ImportOptions): Promise<ImportResult> {
  const { db } = store;
  const { table } = options;
  const batch = options.batch ?? 5000;
  const started = performance.now();
  if (isInternalTable(table)) throw new UsageError(`${table} is an internal table; import into your own tables`);
  const exists = tableExists(db, table);
  if (options.create && exists) {
    throw new CrsyncError('table_exists', `table ${table} already exists`, { hint: 'drop --create to import into it' });
  }
  if (!options.create && !exists) {
    throw new CrsyncError('no_such_table', `no table named ${table} in ${store.path}`, {
      hint: 'add --create to create it from the file (with --pk <column> for its primary key)',
    });
  }
  const input = openInput(options);
  const source = options.file === '-' ? 'stdin' : options.file;
  let target: Target | undefined;
  let rows = 0;
  let committed = 0;
  let pending = 0;
  let lastTurn = performance.now();
  const bad: { line: number; reason: string }[] = [];
  let skipped = 0;
  const progress = (): ImportProgress => ({
    rows,
    skipped,
    bytesRead: (input.stream as ReadStream).bytesRead ?? 0,
    totalBytes: input.totalBytes,
    ms: performance.now() - started,
  });
  const reject = (line: number, reason: string): void => {
    if (!options.skipBad) {
      throw new CrsyncError('bad_input', `line ${line} of ${source}: ${reason}`, {
        hint: 'nothing was imported; fix that line, or pass --skip-bad to skip bad lines',
        details: { line, reason },
      });
    }
    skipped++;
    if (bad.length < SHOWN_BAD_LINES) bad.push({ line, reason });
  };
  const handle = (r: ImportRecord): void => {
    if (r.kind === 'bad') return reject(r.line, r.reason);
    if (!target) target = prepareTarget(db, options, source, r.columns, r.line);
    if (r.kind === 'header') return;
    const refused = target.insert(r.columns, r.values);
    if (refused === undefined) rows++;
    else reject(r.line, refused);
  };

  // Each insert into a replicated table fires cr-sqlite's triggers, so SQLite keeps a statement
  // journal; in a temp file that is ~18 writes per row, and most of the import's time.
  const tempStore = db.pragma('temp_store', { simple: true }) as number;
  db.pragma('temp_store = MEMORY');
  db.exec('BEGIN IMMEDIATE');
  try {
    for await (const records of readRecords(input.format, input.stream, source)) {
      options.signal?.throwIfAborted();
      for (const r of records) {
        handle(r);
        if (r.kind === 'header') continue;
        if ((pending & 255) === 0 && performance.now() - lastTurn > 100) {
          // Buffered input resolves without a turn of the event loop: take one now and then,
          // so the spinner renders and Ctrl-C (the abort signal) is seen during a big import.
          await setImmediate();
          options.signal?.throwIfAborted();
          lastTurn = performance.now();
        }
        if (++pending < batch) continue;
        pending = 0;
        if (options.skipBad) {
          db.exec('COMMIT');
          committed = rows;
          db.exec('BEGIN IMMEDIATE');
        }
        options.onProgress?.(progress());
      }
    }
    if (!target) {
      throw new CrsyncError('bad_input', `${source} has no rows${options.create ? ` to create ${table} from` : ''}`, {
        hint: 'a JSON file needs at least one object; a CSV file needs a header line',
      });
    }
    options.signal?.throwIfAborted();
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (options.file !== '-') input.stream.destroy();
    if (committed > 0 && err instanceof CrsyncError) {
      throw new CrsyncError(err.code, `${err.message} (${committed} rows imported before it stay: --skip-bad commits in batches)`, {
        exitCode: err.exitCode,
        hint: 'without --skip-bad an import is all or nothing',
        details: { ...(err.details as object), rowsCommitted: committed },
        cause: err,
      });
    }
    throw err;
  } finally {
    db.pragma(`temp_store = ${tempStore}`);
  }
  return {
    table,
    file: options.file,
    format: input.format,
    rows,
    skipped,
    badLines: bad.map((b) => b.line),
    badLineErrors: bad.map((b) => `line ${b.line}: ${b.reason}`),
    created: options.create === true,
    ms: Math.round(performance.now() - started),
  };
}
