import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { action, parseDuration, requestLog, stepDetail } from './common.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('replica, tables, conflicts, and per remote what is unpushed and unpulled')
    .argument('[remote]', 'only this remote')
    .option('--offline', 'do not contact remotes (unpulled stays unknown)')
    .option('--exit-code', `exit ${ExitCode.notInSync} when anything is unpushed, unpulled or in conflict`)
    .option('--timeout <duration>', 'how long to wait for each remote\'s count (e.g. 10s, 500ms)', '5s')
    .action(
      action(async (ctx, remote: string | undefined, opts: { offline?: boolean; exitCode?: boolean; timeout: string }) => {
        const timeoutMs = parseDuration('--timeout', opts.timeout);
        // Loaded on use (it pulls in the HTTP client): keeps other commands' start-up light.
        const [{ replicaStatus }, { renderStatus }] = await Promise.all([import('../sync/client/status.js'), import('../output/status-render.js')]);
        const started = performance.now();
        const result = await replicaStatus({ dbPath: ctx.globals.db, remote, env: ctx.env, offline: opts.offline === true, timeoutMs, onRequest: requestLog(ctx) });
        stepDetail(ctx, `status: ${result.remotes.length} remote${result.remotes.length === 1 ? '' : 's'}${opts.offline ? ' (not asked)' : ' asked'}`, started);
        ctx.out.result(result, renderStatus);
        if (opts.exitCode && !result.inSync) ctx.exitCode = ExitCode.notInSync;
      }),
    );
}
