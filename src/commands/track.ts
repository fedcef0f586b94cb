import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { replicatedTableInfo, trackTables } from '../db/replica.js';
import { withStore } from '../db/store.js';
import { renderTracked, renderTrackedList } from '../output/remote-render.js';
import { action } from './common.js';

export function registerTrack(program: Command): void {
  program
    .command('track')
    .description('make existing tables replicated (cr-sqlite CRRs); --list shows them')
    .argument('[tables...]', 'tables to replicate')
    .option('-l, --list', 'list replicated tables with row counts')
    .action(
      action((ctx, tables: string[], opts: { list?: boolean }) => {
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
