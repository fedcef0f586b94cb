import type { CommandContext } from '../cli.js';
import { renderLive } from '../output/live-render.js';

/** Options of `crsync sync --watch` (those of sync it uses). */
export interface WatchFlags {
  migrate: boolean;
  pageSize: number;
}

/** `crsync sync --watch [remote]`: live sync until SIGINT/SIGTERM, then the final line and exit 0. */
export async function watchSync(ctx: CommandContext, remote: string, flags: WatchFlags): Promise<void> {
  // Loaded on use: keeps the start-up of every other command light.
  const { LiveSync } = await import('../sync/client/live.js');
  const live = new LiveSync({ dbPath: ctx.globals.db, remote, env: ctx.env, signal: ctx.signal, migrate: flags.migrate, pageSize: flags.pageSize });
  const view = renderLive(ctx.out, live, remote);
  live.start();
  await live.done();
  view.final();
}
