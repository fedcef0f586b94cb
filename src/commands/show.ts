import type { Command } from 'commander';
import { action } from './common.js';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('a row, and for each cell the site that wrote it, through which remote and when (a blame)')
    .argument('<table>', 'replicated table')
    .argument('<key>', 'col=value[,col=value], a bare value for a one-column key, or a JSON object')
    .action(
      action(async (ctx, table: string, key: string) => {
        const [{ showRow }, { withStore }, { renderRowBlame }] = await Promise.all([import('../db/show.js'), import('../db/store.js'), import('../output/inspect-render.js')]);
        const result = withStore(ctx.globals.db, {}, (s) => showRow(s.db, table, key));
        ctx.out.result(result, renderRowBlame);
      }),
    );
}
