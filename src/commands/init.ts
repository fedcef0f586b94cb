import type { Command } from 'commander';
import { initReplica } from '../db/replica.js';
import { renderInit } from '../output/replica-render.js';
import { action } from './common.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the replica database (or add crsync bookkeeping to an existing SQLite file)')
    .action(
      action((ctx) => {
        const result = initReplica(ctx.globals.db);
        ctx.out.result(result, renderInit);
      }),
    );
}
