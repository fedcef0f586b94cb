import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { action, readAll } from './common.js';

const HELP = `
Every statement that returns rows prints its table. Without BEGIN/COMMIT of its own the script
is one transaction. Read-only statements never write to the file; on a SQLite file crsync has
not initialised, statements that write ask for \`crsync init\` first.

--json prints one document: one query gives an array of row objects, one other statement
{"changes": n}, several statements {"results": [{"statement": 1, "columns": [...], "rows": [...]},
{"statement": 2, "changes": n}, {"statement": 3}], "changes": <total>}.
`;

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run SQL with cr-sqlite loaded (writes to replicated tables need it); - reads stdin')
    .argument('<statement>', 'one or more SQL statements, or - for stdin')
    .option('--csv', 'print rows as CSV')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx, statement: string, opts: { csv?: boolean }) => {
        if (opts.csv && ctx.globals.json) throw new UsageError('choose one of --csv and --json');
        const text = statement === '-' ? await readAll(ctx.stdin) : statement;
        const [{ runSqlScript }, { renderSqlCsv, renderSqlJson, renderSqlNote, renderSqlTables }] = await Promise.all([import('../db/sql.js'), import('../output/sql-render.js')]);
        const result = runSqlScript(ctx.globals.db, text);
        if (ctx.globals.json) return ctx.out.data(renderSqlJson(result));
        if (opts.csv) return ctx.out.data(renderSqlCsv(result));
        const tables = renderSqlTables(result, ctx.out.c);
        if (tables) ctx.out.data(tables + '\n');
        const note = renderSqlNote(result);
        if (note) ctx.out.note(note);
      }),
    );
}
