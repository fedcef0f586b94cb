import type { Command } from 'commander';
import { showRow } from '../db/show.js';
import { withStore } from '../db/store.js';
import { renderRowBlame } from '../output/inspect-render.js';
import { action } from './common.js';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('a row, and for each cell the site that wrote it, through which remote and when (a blame)')
    .argument('<table>', 'replicated table')
    .argument('<key>', 'col=value[,col=value], a bare value for a one-column key, or a JSON object')
    .action(
      action((ctx, table: string, key: string) => {
        const result = withStore(ctx.globals.db, {}, (s) => showRow(s.db, table, key));
        ctx.out.result(result, renderRowBlame);
      }),
    );
}
