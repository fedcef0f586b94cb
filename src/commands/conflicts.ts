import type { Command } from 'commander';
import { listConflicts } from '../db/conflicts/list.js';
import { withStore } from '../db/store.js';
import { renderConflicts } from '../output/conflicts-render.js';
import { action } from './common.js';

export function registerConflicts(program: Command): void {
  program
    .command('conflicts')
    .description('list concurrent edits that lost a merge (open ones; --all for resolved too)')
    .option('-a, --all', 'include resolved conflicts')
    .option('-t, --table <table>', 'only conflicts of this table')
    .action(
      action((ctx, opts: { all?: boolean; table?: string }) => {
        const all = opts.all === true;
        const list = withStore(ctx.globals.db, { inspect: true }, (s) => listConflicts(s.db, { all, table: opts.table }));
        ctx.out.result(list, (l, c) => renderConflicts(l, c, all));
      }),
    );
}
