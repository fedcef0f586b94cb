import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ExportResult } from '../formats/export.js';
import type { DataFormat } from '../formats/readers.js';
import { action } from './common.js';

const HELP = `
The rows are written in primary-key order, in a form \`crsync import\` reads back with the same
values and types: CSV quotes all TEXT (an empty unquoted field is NULL, \\x<hex> a BLOB, REAL
values keep a dot: 3.0); NDJSON and JSON write 64-bit integers exactly and blobs as {"$blob":"<hex>"}.
With -o the file is written whole or not at all (a temp file renamed at the end).

Examples:
  crsync export countries > countries.csv
  crsync export countries -o countries.ndjson
  crsync export countries --format json | jq '.[0]'
  crsync export countries --json | jq length    (--json without -o: a JSON array)
`;

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a table as CSV, NDJSON or a JSON array (stdout or -o file)')
    .argument('<table>', 'table to export')
    .option('--format <format>', 'csv, ndjson or json (default: from the -o extension, else csv)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx, table: string, opts: { format?: string; output?: string }) => {
        // Loaded on use: the CSV writer and the readers are export's alone.
        const [{ DATA_FORMATS, formatFromPath }, { exportTable }, { withStoreAsync }, { renderExportProgress, renderExportSummary }] = await Promise.all([
          import('../formats/readers.js'),
          import('../formats/export.js'),
          import('../db/store.js'),
          import('../output/import-render.js'),
        ]);
        if (opts.format !== undefined && !(DATA_FORMATS as readonly string[]).includes(opts.format)) {
          throw new UsageError(`unknown format ${opts.format}`, `use one of ${DATA_FORMATS.join(', ')}`, 'unknown_format');
        }
        const file = opts.output === '-' ? undefined : opts.output;
        // --json without -o: stdout is the one JSON document, so the rows are a JSON array.
        if (ctx.out.json && !file && opts.format !== undefined && opts.format !== 'json') {
          throw new UsageError(`--json prints the rows as JSON; --format ${opts.format} needs -o <file>`);
        }
        const format = (opts.format as DataFormat | undefined) ?? (file ? formatFromPath(file) : undefined) ?? (ctx.out.json ? 'json' : 'csv');
        const progress = ctx.out.progress(`exporting ${table}`);
        let result: ExportResult;
        try {
          result = await withStoreAsync(ctx.globals.db, { readonly: true }, (store) =>
            exportTable(store, {
              table,
              format,
              file,
              // stdout itself, not out.data(): the export waits for it to drain, so memory stays bounded.
              stdout: ctx.out.opts.stdout,
              signal: ctx.signal,
              onProgress: (rows) => progress.update(renderExportProgress(table, rows)),
            }),
          );
        } catch (err) {
          progress.fail();
          throw err;
        }
        progress.done();
        // Without -o, stdout carries the rows: the result is only a note on stderr.
        if (file && ctx.out.json) ctx.out.result(result);
        else ctx.out.note(renderExportSummary(table, format, file, result));
      }),
    );
}
