import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { action, positiveInt } from './common.js';

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('transactions, newest first: version, time, writer site, source (local or the remote), tables and rows written')
    .option('-n, --limit <n>', 'how many transactions (default 20)')
    .option('-t, --table <table>', 'only transactions that wrote this table')
    .option('--since <dbVersion>', 'only transactions after this db_version')
    .action(
      action(async (ctx, opts: { limit?: string; table?: string; since?: string }) => {
        const limit = positiveInt('--limit', opts.limit, 20);
        if (opts.since !== undefined && !/^\d{1,18}$/.test(opts.since)) throw new UsageError(`--since must be a db_version (a whole number), got ${opts.since}`);
        const since = opts.since === undefined ? undefined : BigInt(opts.since);
        const [{ readLog }, { txlogKeep, txlogPrunedBelow }, { withStore }, { renderLog, renderLogPruned }] = await Promise.all([
          import('../db/log.js'),
          import('../db/txlog.js'),
          import('../db/store.js'),
          import('../output/log-render.js'),
        ]);
        const { entries, prunedBelow, keep } = withStore(ctx.globals.db, { inspect: true }, (s) => ({
          entries: readLog(s.db, { limit, table: opts.table, since }),
          prunedBelow: txlogPrunedBelow(s.db),
          keep: txlogKeep(s.db),
        }));
        ctx.out.result(entries, renderLog);
        // The listing ran out where the log was pruned: say so (stderr; --json stays the array).
        if (prunedBelow !== null && entries.length < limit && !ctx.out.json) ctx.out.note(renderLogPruned(prunedBelow, keep));
      }),
    );
}
