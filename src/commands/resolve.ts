import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ConflictView } from '../db/conflicts/list.js';
import type { ResolveDecision } from '../db/conflicts/resolve.js';
import { action } from './common.js';

/** What a shell reports for a command stopped by Ctrl-C (128 + SIGINT). */
const INTERRUPTED_EXIT = 130;

interface ResolveFlags {
  all?: boolean;
  table?: string;
  ours?: boolean;
  theirs?: boolean;
  value?: string;
}

function parseIds(args: string[]): number[] {
  return args.map((a) => {
    const n = Number(a);
    if (!/^\d+$/.test(a) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`not a conflict id: ${a}`, 'ids are the numbers `crsync conflicts` shows');
    return n;
  });
}

/** The one choice given on the command line, or undefined when none was. */
function choiceOf(flags: ResolveFlags, parseSqlJson: (text: string) => unknown): Omit<ResolveDecision, 'id'> | undefined {
  const given = [flags.ours, flags.theirs, flags.value !== undefined].filter(Boolean).length;
  if (given > 1) throw new UsageError('give one of --ours, --theirs or --value');
  if (flags.ours) return { choice: 'ours' };
  if (flags.theirs) return { choice: 'theirs' };
  if (flags.value === undefined) return undefined;
  try {
    return { choice: 'value', value: parseSqlJson(flags.value) };
  } catch {
    throw new UsageError(`--value is not JSON: ${flags.value}`, `text needs JSON quotes, e.g. --value '"Paris"'; numbers, null and {"$blob":"hex"} as is`);
  }
}

export function registerResolve(program: Command): void {
  program
    .command('resolve')
    .description('settle conflicts: keep ours, theirs, or a value (written as a new change that wins after sync)')
    .argument('[ids...]', 'conflict ids (see crsync conflicts)')
    .option('-a, --all', 'every open conflict')
    .option('-t, --table <table>', 'every open conflict of this table')
    .option('--ours', 'keep this replica\'s value')
    .option('--theirs', 'keep the incoming value')
    .option('--value <json>', 'set this value (JSON; a row object or null for a row-level conflict)')
    .action(
      action(async (ctx, args: string[], flags: ResolveFlags) => {
        const ids = parseIds(args);
        if (ids.length > 0 && (flags.all || flags.table !== undefined)) throw new UsageError('give conflict ids, or --all / --table, not both');
        if (ids.length === 0 && !flags.all && flags.table === undefined) {
          throw new UsageError('name the conflicts to resolve', 'crsync resolve <id...> | --all | --table <t>, with --ours, --theirs or --value <json>');
        }
        // Loaded on use: resolving is the only command that needs these (and exact JSON parsing).
        const [{ listConflicts, requireConflicts }, { resolveConflicts }, { withStore }, { renderResolve }, { promptResolutions }, { parseSqlJson }] = await Promise.all([
          import('../db/conflicts/list.js'),
          import('../db/conflicts/resolve.js'),
          import('../db/store.js'),
          import('../output/conflicts-render.js'),
          import('../output/resolve-prompt.js'),
          import('../values.js'),
        ]);
        const choice = choiceOf(flags, parseSqlJson);
        const interactive = choice === undefined;
        if (interactive && (!ctx.stdinIsTTY || ctx.globals.json)) {
          throw new UsageError('say what to keep: --ours, --theirs or --value <json>', 'without a terminal crsync cannot ask');
        }
        const selected = withStore(ctx.globals.db, {}, (s): ConflictView[] =>
          ids.length > 0 ? requireConflicts(s.db, ids) : listConflicts(s.db, { table: flags.table }),
        );
        if (selected.length === 0) ctx.out.note('no open conflicts to resolve');
        const asked = interactive ? await promptResolutions(selected, ctx.stdin, ctx.out) : undefined;
        const decisions: ResolveDecision[] = asked ? asked.decisions : selected.map((c) => ({ id: c.id, ...choice! }));
        const result = withStore(ctx.globals.db, {}, (s) => resolveConflicts(s.db, decisions));
        ctx.out.result(result, renderResolve);
        // Stopped with Ctrl-C: the answers given are kept, and the exit code says it was cut short.
        if (asked?.interrupted) ctx.exitCode = INTERRUPTED_EXIT;
      }),
    );
}
