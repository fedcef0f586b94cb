import type { Command } from 'commander';
import { replicaStats } from '../db/stats.js';
import { renderStats } from '../output/stats-render.js';
import { action } from './common.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('what the file is made of: per replicated table rows, tombstones, data and cr-sqlite metadata bytes; crsync bookkeeping; pages')
    .action(
      action((ctx) => {
        ctx.out.result(replicaStats(ctx.globals.db), renderStats);
      }),
    );
}
