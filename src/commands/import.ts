import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ImportResult } from '../formats/import.js';
import type { DataFormat } from '../formats/readers.js';
import { action, positiveInt } from './common.js';

interface ImportCommandOptions {
  format?: string;
  create?: boolean;
  pk?: string;
  batch?: string;
  skipBad?: boolean;
}

const HELP = `
Formats: CSV (RFC 4180, header line first), NDJSON (one object per line) or a JSON array of
objects; chosen by the extension (.csv, .ndjson/.jsonl, .json) or --format. Values keep their
SQLite type: in CSV a quoted field is TEXT, an empty unquoted one NULL, unquoted digits INTEGER,
a dot or exponent REAL, \\x<hex> a BLOB; in JSON a number's spelling decides INTEGER or REAL
(exact beyond 2^53), true/false are 1/0, {"$blob":"<hex>"} is a BLOB, nested values are JSON text.

All or nothing by default: the whole file is imported in one transaction, so a malformed line
anywhere (named in the error) leaves the database exactly as it was. Memory stays bounded: the
file is streamed and SQLite spills the open transaction to disk (its WAL grows to about the size
the import adds to the database until the commit). With --skip-bad, malformed lines
are reported and skipped and every --batch rows are committed; an import that then stops (an
unclosed quote, broken JSON array syntax, Ctrl-C) keeps the batches committed before it.

--create makes a replicated table with untyped columns named by the header (or the first
object's keys). --pk names its primary key; without it an "id" TEXT key of random UUIDs is added
(unique across replicas, unlike autoincrement) and filled again by later imports.

Examples:
  crsync import countries countries.csv --create --pk cca3
  crsync import events events.ndjson --skip-bad
  gunzip -c big.csv.gz | crsync import items - --format csv
`;

function parseFormat(value: string | undefined, formats: readonly DataFormat[]): DataFormat | undefined {
  if (value === undefined) return undefined;
  if ((formats as readonly string[]).includes(value)) return value as DataFormat;
  throw new UsageError(`unknown format ${value}`, `use one of ${formats.join(', ')}`, 'unknown_format');
}


export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import a CSV, NDJSON or JSON-array file into a table (all or nothing; streamed)')
    .argument('<table>', 'table to import into')
    .argument('<file>', 'file to read, or - for stdin (then --format is required)')
    .option('--format <format>', 'csv, ndjson or json (default: from the file extension)')
    .option('--create', 'create the table (replicated) from the header, then import')
    .option('--pk <columns>', 'with --create: primary-key column(s), comma-separated')
    .option('--batch <n>', 'rows per progress step; with --skip-bad, rows per committed transaction', '5000')
    .option('--skip-bad', 'skip and report malformed lines instead of failing; commits in batches')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx, table: string, file: string, opts: ImportCommandOptions) => {
        // Loaded on use: the readers and their JSON streaming are most of what import brings.
        const [{ DATA_FORMATS }, { importFile }, { withStoreAsync }, { renderImportProgress, renderImportSummary }] = await Promise.all([
          import('../formats/readers.js'),
          import('../formats/import.js'),
          import('../db/store.js'),
          import('../output/import-render.js'),
        ]);
        const format = parseFormat(opts.format, DATA_FORMATS);
        if (file === '-' && !format) throw new UsageError('reading stdin (-) needs --format', 'pass --format csv, ndjson or json', 'unknown_format');
        if (opts.pk !== undefined && !opts.create) throw new UsageError('--pk only goes with --create', 'an existing table keeps its key');
        const pk = opts.pk?.split(',').map((k) => k.trim());
        if (pk?.some((k) => k === '')) throw new UsageError(`--pk ${opts.pk} names an empty column`);
        const batch = positiveInt('--batch', opts.batch, 5000);
        const progress = ctx.out.progress(`importing ${file} into ${table}`);
        let result: ImportResult;
        try {
          result = await withStoreAsync(ctx.globals.db, {}, (store) =>
            importFile(store, {
              table,
              file,
              input: ctx.stdin,
              format,
              create: opts.create === true,
              pk,
              batch,
              skipBad: opts.skipBad === true,
              signal: ctx.signal,
              onProgress: (p) => progress.update(renderImportProgress(table, p)),
            }),
          );
        } catch (err) {
          progress.fail();
          throw err;
        }
        progress.done();
        if (result.skipped > 0) {
          const more = result.skipped > result.badLines.length ? ', ...' : '';
          ctx.out.warn(
            `skipped ${result.skipped} bad line${result.skipped === 1 ? '' : 's'} (${result.badLines.join(', ')}${more}); ` +
              `first: ${result.badLineErrors[0]}`,
          );
        }
        if (ctx.out.json) ctx.out.result(result);
        else ctx.out.note(renderImportSummary(result));
      }),
    );
}
