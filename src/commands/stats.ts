import type { Command } from 'commander';
import { action } from './common.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('what the file is made of: per replicated table rows, tombstones, data and cr-sqlite metadata bytes; crsync bookkeeping; pages')
    .action(
      action(async (ctx) => {
        // Loaded on use: a static import would load better-sqlite3 at every command's start.
        const [{ replicaStats }, { renderStats }] = await Promise.all([import('../db/stats.js'), import('../output/stats-render.js')]);
        ctx.out.result(replicaStats(ctx.globals.db), renderStats);
      }),
    );
}
