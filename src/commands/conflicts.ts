import type { Command } from 'commander';
import { action } from './common.js';

export function registerConflicts(program: Command): void {
  program
    .command('conflicts')
    .description('list concurrent edits that lost a merge (open ones; --all for resolved too)')
    .option('-a, --all', 'include resolved conflicts')
    .option('-t, --table <table>', 'only conflicts of this table')
    .action(
      action(async (ctx, opts: { all?: boolean; table?: string }) => {
        const [{ listConflicts }, { withStore }, { renderConflicts }] = await Promise.all([import('../db/conflicts/list.js'), import('../db/store.js'), import('../output/conflicts-render.js')]);
        const all = opts.all === true;
        const list = withStore(ctx.globals.db, { inspect: true }, (s) => listConflicts(s.db, { all, table: opts.table }));
        ctx.out.result(list, (l, c) => renderConflicts(l, c, all));
      }),
    );
}
