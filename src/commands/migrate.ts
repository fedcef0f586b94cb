import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CrsyncError } from '../errors.js';
import { action, readAll } from './common.js';

const HELP = `
The whole file runs in one transaction: either every statement applies and every replicated
table still replicates, or nothing changes. ALTERs of replicated tables run between
crsql_begin_alter and crsql_commit_alter. Refused before anything runs: dropping or renaming a
replicated table or column, a unique index on one, a NOT NULL column without a default, a
non-literal default, and a change of primary key (a table rebuild). Tables the migration
creates become replicated with --track. push and pull then carry the new tables and columns
to the hub and the other replicas.

Examples:
  crsync migrate add-color.sql
  crsync migrate notes.sql --track notes
  echo "ALTER TABLE items ADD COLUMN color TEXT DEFAULT 'red';" | crsync migrate -
`;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function readMigration(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CrsyncError('file_not_found', code === 'ENOENT' ? `no file at ${file}` : `cannot read ${file}: ${(err as Error).message}`, {
      hint: 'pass the path of a file of SQL statements, or - to read them from stdin',
      cause: err,
    });
  }
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('run DDL against replicated tables safely, in one transaction (new tables, new columns); - reads stdin')
    .argument('<file>', 'file of SQL statements, or - for stdin')
    .option('--track <table>', 'make a table the migration creates replicated (repeatable)', collect, [] as string[])
    .option('--dry-run', 'check and run the migration, then roll it back')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx, file: string, opts: { track: string[]; dryRun?: boolean }) => {
        const sql = file === '-' ? await readAll(ctx.stdin) : readMigration(file);
        // Loaded on use: the migration parser and checker are migrate's alone.
        const [{ runMigration }, { renderMigrate }] = await Promise.all([import('../db/schema/migrate.js'), import('../output/migrate-render.js')]);
        const result = runMigration({
          dbPath: ctx.globals.db,
          sql,
          source: file === '-' ? 'stdin' : file,
          track: opts.track,
          dryRun: opts.dryRun === true,
        });
        ctx.out.result(result, renderMigrate);
      }),
    );
}
