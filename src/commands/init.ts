import type { Command } from 'commander';
import { action } from './common.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the replica database (or add crsync bookkeeping to an existing SQLite file)')
    .action(
      action(async (ctx) => {
        const [{ initReplica }, { renderInit }] = await Promise.all([import('../db/replica.js'), import('../output/replica-render.js')]);
        const result = initReplica(ctx.globals.db);
        ctx.out.result(result, renderInit);
      }),
    );
}
