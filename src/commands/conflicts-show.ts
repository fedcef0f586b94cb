import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { action } from './common.js';

/** `crsync conflicts show <id>`, a subcommand of `conflicts` (registered after it). */
export function registerConflictsShow(program: Command): void {
  const conflicts = program.commands.find((c) => c.name() === 'conflicts');
  if (!conflicts) throw new Error('register the conflicts command first');
  conflicts
    .command('show')
    .description('one conflict in full: both sides, their sites, times, the current value and how to resolve it')
    .argument('<id>', 'conflict id (crsync conflicts)')
    .action(
      action(async (ctx, id: string) => {
        if (!/^\d{1,15}$/.test(id)) throw new UsageError(`a conflict id is a whole number, got ${id}`, 'list them with `crsync conflicts --all`');
        const [{ showConflict }, { withStore }, { renderConflictDetail }] = await Promise.all([import('../db/conflicts/show.js'), import('../db/store.js'), import('../output/inspect-render.js')]);
        const result = withStore(ctx.globals.db, {}, (s) => showConflict(s.db, Number(id)));
        ctx.out.result(result, renderConflictDetail);
      }),
    );
}
