import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { action } from './common.js';

export function registerTrack(program: Command): void {
  program
    .command('track')
    .description('make existing tables replicated (cr-sqlite CRRs); --list shows them')
    .argument('[tables...]', 'tables to replicate')
    .option('-l, --list', 'list replicated tables with row counts')
    .action(
      action(async (ctx, tables: string[], opts: { list?: boolean }) => {
        const [{ replicatedTableInfo, trackTables }, { withStore }, { renderTracked, renderTrackedList }] = await Promise.all([
          import('../db/replica.js'),
          import('../db/store.js'),
          import('../output/remote-render.js'),
        ]);
        if (opts.list) {
          if (tables.length > 0) throw new UsageError('--list takes no table names');
          const list = withStore(ctx.globals.db, {}, (s) => replicatedTableInfo(s.db));
          ctx.out.result(list, renderTrackedList);
          return;
        }
        if (tables.length === 0) throw new UsageError('name at least one table, or use --list', 'crsync track <table...>');
        const result = withStore(ctx.globals.db, {}, (s) => trackTables(s, tables));
        ctx.out.result(result, renderTracked);
      }),
    );
}
