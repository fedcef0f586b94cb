import type { Command } from 'commander';
import { retryFromEnv } from '../sync/client/retry.js';
import { transferProgress } from '../output/sync-render.js';
import { DEFAULT_PAGE_SIZE } from '../sync/protocol/types.js';
import { action, positiveInt, requestLog, stepDetail, withResumeHint } from './common.js';

export function registerClone(program: Command): void {
  program
    .command('clone')
    .description('make a new replica of a remote (its own site id, origin set to the URL)')
    .argument('<url>', 'http(s)://host:port/<dataset>, or a path to a crsync database')
    .argument('[file]', 'database file to create (default: <dataset>.db in this folder; <name>-clone.db when that is the source file itself)')
    .option('--no-snapshot', 'merge the change stream even into a new file (default: receive a snapshot of the remote)')
    .option('--page-size <n>', `changes per page, one transaction each (default ${DEFAULT_PAGE_SIZE})`)
    .action(
      action(async (ctx, url: string, file: string | undefined, flags: { pageSize?: string; snapshot: boolean }) => {
        const started = performance.now();
        const onRequest = requestLog(ctx);
        const total = (ctx.out.opts.interactive && !ctx.out.opts.quiet) || ctx.out.verbose ? await (await import('../sync/client/status.js')).countAll(url, ctx.env, undefined, onRequest) : null;
        stepDetail(ctx, `clone ${url}: ${total ?? 'unknown'} changes on the remote, counted`, started);
        const { progress, onProgress } = transferProgress(ctx.out, `clone ${url}`, { pull: total });
        try {
          const { cloneReplica } = await import('../sync/client/clone.js');
          const r = await cloneReplica(url, file, {
            env: ctx.env,
            signal: ctx.signal,
            pageSize: positiveInt('--page-size', flags.pageSize, DEFAULT_PAGE_SIZE),
            retry: retryFromEnv(ctx.env),
            snapshot: flags.snapshot,
            onProgress,
            onRequest,
          });
          progress.done();
          stepDetail(ctx, `clone ${url}: ${r.db} via ${r.via}, ${r.received} changes, ${r.bytes} bytes`, started);
          // Loaded on use, as remote and track load it: the renderer stays out of the entry chunk.
          const { renderClone } = await import('../output/remote-render.js');
          ctx.out.result(r, renderClone);
        } catch (err) {
          progress.fail();
          throw withResumeHint(err, `crsync clone ${url}${file ? ' ' + file : ''}`);
        }
      }),
    );
}
