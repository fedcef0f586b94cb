import type { Command } from 'commander';
import type { CommandContext } from '../cli.js';
import type { SyncOptions } from '../sync/client/engine.js';
import { retryFromEnv } from '../sync/client/retry.js';
import { renderTransfer, transferProgress, type TransferTotals } from '../output/sync-render.js';
import { DEFAULT_PAGE_SIZE } from '../sync/protocol/types.js';
import { action, positiveInt, requestLog, stepDetail, withResumeHint } from './common.js';

interface TransferFlags {
  migrate: boolean;
  pageSize?: string;
  watch?: boolean;
  create?: boolean;
  snapshot?: boolean;
}

function syncOptions(ctx: CommandContext, remote: string | undefined, flags: TransferFlags): SyncOptions {
  return {
    dbPath: ctx.globals.db,
    remote: remote ?? 'origin',
    env: ctx.env,
    migrate: flags.migrate,
    pageSize: positiveInt('--page-size', flags.pageSize, DEFAULT_PAGE_SIZE),
    signal: ctx.signal,
    retry: retryFromEnv(ctx.env),
    // Only `push --create` makes a dataset: a typo in a URL must fail, not create one.
    create: flags.create === true,
    snapshot: flags.snapshot !== false,
    onRequest: requestLog(ctx),
  };
}

/** Registers push, pull and sync: the same options, one engine call each. */
export function registerTransfers(program: Command): void {
  const verbs = [
    { name: 'pull', past: 'pulled', run: 'pullChanges', about: 'fetch and merge the changes the remote has that this replica has not seen' },
    { name: 'push', past: 'pushed', run: 'pushChanges', about: 'send the changes the remote has not acknowledged' },
    { name: 'sync', past: 'synced', run: 'syncChanges', about: 'pull, then push' },
  ] as const;
  for (const v of verbs) {
    const cmd = program
      .command(v.name)
      .description(v.about)
      .argument('[remote]', 'remote name', 'origin')
      .option('--no-migrate', 'do not carry additive schema changes (a schema difference is then exit 5)')
      .option('--page-size <n>', `changes per page, one transaction each (default ${DEFAULT_PAGE_SIZE})`);
    if (v.name === 'push') cmd.option('--create', 'create the dataset (or peer file) when the remote has none');
    if (v.name !== 'pull') cmd.option('--no-snapshot', 'push the change stream even into a new or empty dataset (default: upload a snapshot of this replica)');
    if (v.name === 'sync') cmd.option('--watch', 'keep syncing live until SIGINT/SIGTERM (a hub remote): local commits pushed as they happen, hub changes applied as they come');
    cmd.action(
        action(async (ctx, remote: string, flags: TransferFlags) => {
          if (flags.watch) {
            const { watchSync } = await import('./sync-watch.js');
            return watchSync(ctx, remote, { migrate: flags.migrate, pageSize: positiveInt('--page-size', flags.pageSize, DEFAULT_PAGE_SIZE) });
          }
          // The totals cost one count request: only worth it when progress is shown.
          const started = performance.now();
          const totals: TransferTotals = (ctx.out.opts.interactive && !ctx.out.opts.quiet) || ctx.out.verbose
            ? await (await import('../sync/client/status.js')).transferTotals({ dbPath: ctx.globals.db, remote, env: ctx.env, onRequest: requestLog(ctx) })
            : {};
          stepDetail(ctx, `${v.name} ${remote}: to push ${totals.push ?? 'unknown'}, to pull ${totals.pull ?? 'unknown'}, counted`, started);
          const { progress, onProgress } = transferProgress(ctx.out, `${v.name} ${remote}`, totals);
          try {
            // Loaded on use: keeps the start-up of every other command light.
            const engine = await import('../sync/client/engine.js');
            const result = await engine[v.run]({ ...syncOptions(ctx, remote, flags), onProgress });
            progress.done();
            ctx.out.detail(`${v.name} ${remote}: ${result.url}, sent ${result.sent}, received ${result.received}, ${result.bytes} bytes, ${result.ms} ms in the engine`);
            ctx.out.result(result, (r, c) => renderTransfer(v.past, r, c));
          } catch (err) {
            progress.fail();
            throw withResumeHint(err, `crsync ${v.name} ${remote}`);
          }
        }),
      );
  }
}
