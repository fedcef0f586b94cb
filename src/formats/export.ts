import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setImmediate } from 'node:timers/promises';
import { csvHeader, csvRecord } from './csv-write.js';
import { CrsyncError } from '../errors.js';
import { stringifyRow, type SqlValue } from '../values.js';
import type { DataFormat } from './readers.js';
import { tableExists } from '../db/schema/read.js';
import { tableRows } from '../db/rows.js';
import type { Store } from '../db/store.js';

/** What to export, and where. */
export interface ExportOptions {
  table: string;
  format: DataFormat;
  /** Written through a temp file renamed on success; without it, rows go to `stdout`. */
  file?: string;
  stdout: Writable;
  signal?: AbortSignal;
  onProgress?: (rows: number) => void;
}

/** Result of `crsync export`. */
export interface ExportResult {
  table: string;
  /** The file written, or null for stdout. */
  file: string | null;
  format: DataFormat;
  rows: number;
  ms: number;
}

/** Text is handed to the sink in pieces of about this size. */
const CHUNK = 64 * 1024;

/** Encodes rows one at a time in a format that `importFile` reads back with the same types. */
function encoder(format: DataFormat, columns: string[]): { start: string; row: (r: SqlValue[], i: number) => string; end: (rows: number) => string } {
  // fromEntries: a column named "__proto__" stays a column.
  const object = (r: SqlValue[]): string => stringifyRow(Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null])));
  if (format === 'csv') return { start: csvHeader(columns), row: (r) => csvRecord(r), end: () => '' };
  if (format === 'ndjson') return { start: '', row: (r) => object(r) + '\n', end: () => '' };
  return { start: '[', row: (r, i) => (i === 0 ? '' : ',\n') + object(r), end: () => ']\n' };
}

/** Writes with backpressure; a reader that went away (EPIPE: `| head`) ends the export quietly. */
class Sink {
  private error: Error | undefined;
  private readonly onError = (err: Error): void => {
    this.error ??= err;
  };

  constructor(readonly stream: Writable) {
    stream.on('error', this.onError);
  }

  get closed(): boolean {
    return (this.error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
  }

  async write(text: string): Promise<void> {
    this.check();
    if (!this.stream.write(text)) {
      const s = this.stream;
      await new Promise<void>((res) => {
        const done = (): void => {
          s.off('drain', done).off('close', done).off('error', done);
          res();
        };
        s.on('drain', done).on('close', done).on('error', done);
      });
    }
    this.check();
  }

  check(): void {
    if (this.error && !this.closed) throw this.error;
  }

  detach(): void {
    this.stream.off('error', this.onError);
  }
}

async function writeRows(store: Store, options: ExportOptions, sink: Sink): Promise<number> {
  const { columns, rows: source } = tableRows(store.db, options.table);
  const enc = encoder(options.format, columns);
  let text = enc.start;
  let rows = 0;
  for (const row of source) {
    text += enc.row(row, rows++);
    if (text.length < CHUNK) continue;
    await sink.write(text);
    text = '';
    if (sink.closed) return rows;
    // A synchronous stdout never makes us wait: take a turn of the event loop for Ctrl-C and the spinner.
    await setImmediate();
    options.signal?.throwIfAborted();
    options.onProgress?.(rows);
  }
  await sink.write(text + enc.end(rows));
  return rows;
}

/** Streams a table's rows, in primary-key order, as CSV, NDJSON or a JSON array. */
export async function exportTable(store: Store, options: ExportOptions): Promise<ExportResult> {
  const started = performance.now();
  const { table } = options;
  if (!tableExists(store.db, table)) {
    throw new CrsyncError('no_such_table', `no table named ${table} in ${store.path}`, {
      hint: 'list the replicated tables with `crsync track --list`',
    });
  }
  const result = (rows: number): ExportResult => ({
    table,
    file: options.file ?? null,
    format: options.format,
    rows,
    ms: Math.round(performance.now() - started),
  });
  if (options.file === undefined) {
    const sink = new Sink(options.stdout);
    try {
      return result(await writeRows(store, options, sink));
    } finally {
      sink.detach();
    }
  }
  // A temp file beside the target, renamed over it on success: a failed export leaves no half file.
  const target = resolve(options.file);
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'wx');
  } catch (err) {
    throw new CrsyncError('cannot_write', `cannot write ${options.file}: ${(err as Error).message}`, {
      hint: 'check that the folder exists and is writable',
      cause: err,
    });
  }
  const stream = handle.createWriteStream();
  const sink = new Sink(stream);
  try {
    const rows = await writeRows(store, options, sink);
    stream.end();
    await finished(stream);
    sink.check();
    await rename(temp, target);
    return result(rows);
  } catch (err) {
    stream.destroy();
    await unlink(temp).catch(() => undefined);
    throw err;
  } finally {
    sink.detach();
  }
}
