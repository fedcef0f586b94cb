import { createReadStream, statSync, type ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { CrsyncError, UsageError } from '../errors.js';
import { isInternalTable } from '../db/state/bookkeeping.js';
import { ImportTransaction, prepareTarget, type ImportTarget } from '../db/import-target.js';
import { tableExists } from '../db/schema/read.js';
import type { Store } from '../db/store.js';
import { readRecords, formatFromPath, type DataFormat, type ImportRecord } from './readers.js';

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
  let target: ImportTarget | undefined;
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

  const txn = new ImportTransaction(db);
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
          txn.commitAndContinue();
          committed = rows;
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
    txn.commit();
  } catch (err) {
    txn.rollback();
    if (options.file !== '-') input.stream.destroy();
    if (committed > 0 && err instanceof CrsyncError) {
      throw new CrsyncError(err.code, `${err.message} (${committed} rows imported before it stay: --skip-bad commits in batches)`, {
        hint: 'without --skip-bad an import is all or nothing',
        details: { ...(err.details as object), rowsCommitted: committed },
        cause: err,
      });
    }
    throw err;
  } finally {
    txn.end();
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
