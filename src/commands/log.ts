import type { Command } from 'commander';
import { readLog } from '../db/log.js';
import { withStore } from '../db/store.js';
import { renderLog } from '../output/conflicts-render.js';
import { action, positiveInt } from './common.js';

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('recent transactions, newest first: version, who wrote them, tables and changes')
    .option('-n, --limit <n>', 'how many transactions (default 20)')
    .action(
      action((ctx, opts: { limit?: string }) => {
        const limit = positiveInt('--limit', opts.limit, 20);
        const result = withStore(ctx.globals.db, { inspect: true }, (s) => readLog(s.db, limit));
        ctx.out.result(result, renderLog);
      }),
    );
}
