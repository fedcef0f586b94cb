import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { retryFromEnv } from '../sync/client/retry.js';
import { action } from './common.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('what a push would send (outgoing) and a pull would bring (incoming), row by row; moves nothing')
    .argument('[remote]', 'remote name', 'origin')
    .option('--offline', 'outgoing only, without asking the remote')
    .option('-t, --table <table>', 'only rows of this table')
    .option('--since <dbVersion>', 'local changes after this db_version instead (no remote)')
    .action(
      action(async (ctx, remote: string, opts: { offline?: boolean; table?: string; since?: string }) => {
        if (opts.since !== undefined && !/^\d{1,18}$/.test(opts.since)) throw new UsageError(`--since must be a db_version (a whole number), got ${opts.since}`);
        const [{ diffReplica }, { renderDiff }] = await Promise.all([import('../sync/client/diff.js'), import('../output/inspect-render.js')]);
        const result = await diffReplica({
          dbPath: ctx.globals.db,
          remote,
          env: ctx.env,
          offline: opts.offline === true,
          table: opts.table,
          since: opts.since === undefined ? undefined : BigInt(opts.since),
          signal: ctx.signal,
          retry: retryFromEnv(ctx.env),
        });
        ctx.out.result(result, renderDiff);
      }),
    );
}
