import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { runSql } from '../db/sql.js';
import { withStore } from '../db/store.js';
import { csvHeader, csvRecord } from '../formats/csv-write.js';
import { renderTable } from '../output/format.js';
import { stringifyRow, type SqlValue } from '../values.js';
import { action, readAll } from './common.js';

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run SQL with cr-sqlite loaded (writes to replicated tables need it); - reads stdin')
    .argument('<statement>', 'one or more SQL statements, or - for stdin')
    .option('--csv', 'print rows as CSV')
    .action(
      action(async (ctx, statement: string, opts: { csv?: boolean }) => {
        if (opts.csv && ctx.globals.json) throw new UsageError('choose one of --csv and --json');
        const text = statement === '-' ? await readAll(ctx.stdin) : statement;
        const result = withStore(ctx.globals.db, {}, (s) => runSql(s.db, text));
        const rows = result.result;
        if (ctx.globals.json) {
          // An array of row objects (the last statement that returned rows), types kept exact.
          const objects = (rows?.rows ?? []).map((r) => stringifyRow(toObject(rows!.columns, r)));
          ctx.out.data('[' + objects.join(',\n') + ']\n');
          return;
        }
        if (opts.csv) {
          if (rows) ctx.out.data(csvHeader(rows.columns) + rows.rows.map((r) => csvRecord(r)).join(''));
          return;
        }
        if (rows) ctx.out.data(renderTable(rows.columns, rows.rows, ctx.out.c) + '\n');
        ctx.out.note(
          rows ? `${rows.rows.length} row${rows.rows.length === 1 ? '' : 's'}` : `${result.changes} row${result.changes === 1 ? '' : 's'} changed`,
        );
      }),
    );
}

function toObject(columns: string[], row: SqlValue[]): Record<string, SqlValue> {
  // fromEntries defines own properties, so a column named __proto__ stays a column.
  return Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null]));
}
