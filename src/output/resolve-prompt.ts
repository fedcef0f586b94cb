import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import type { ConflictView } from '../db/conflicts/list.js';
import type { ResolveDecision } from '../db/conflicts/resolve.js';
import { fromJsonValue, parseSqlJson } from '../values.js';
import type { Output } from './output.js';
import { describeCell, wholeSide, wrap } from './conflicts-render.js';

/** The answers given, and whether the user stopped early (Ctrl-C or Ctrl-D). */
export interface PromptOutcome {
  decisions: ResolveDecision[];
  interrupted: boolean;
}

class Stopped extends Error {}

/**
 * Asks, conflict by conflict, what to keep (on a terminal only): ours, theirs, a value, skip or
 * quit. Each answer is confirmed as it is given. Ctrl-C, like q, stops asking and keeps the
 * answers already given; the ones skipped or not reached stay open.
 */
export async function promptResolutions(conflicts: ConflictView[], stdin: Readable, out: Output): Promise<PromptOutcome> {
  const c = out.e;
  const width = (out.opts.stderr as { columns?: number }).columns ?? 80;
  const rl = createInterface({ input: stdin, output: out.opts.stderr, terminal: true });
  const stop = new AbortController();
  rl.on('SIGINT', () => stop.abort());
  rl.on('close', () => stop.abort());
  const ask = async (q: string): Promise<string> => {
    try {
      return await rl.question(q, { signal: stop.signal });
    } catch {
      throw new Stopped();
    }
  };
  const decisions: ResolveDecision[] = [];
  const confirm = (id: number, what: string): void => void out.opts.stderr.write(c.green(`  #${id}: ${what}`) + '\n');
  try {
    for (const x of conflicts) {
      const rowLevel = x.kind === 'delete_update';
      out.opts.stderr.write(
        `\n${c.bold('#' + x.id)} ${describeCell(x)} ${c.dim(x.kind)}\n` +
          `  ours   ${wrap(wholeSide(x.ours, rowLevel), width, 9)}${x.winner === 'ours' ? c.green('  (won)') : ''}\n` +
          `  theirs ${wrap(wholeSide(x.theirs, rowLevel), width, 9)}${x.winner === 'theirs' ? c.green('  (won)') : ''}` +
          c.dim(x.remote ? `  via ${x.remote}` : '') + '\n',
      );
      for (;;) {
        const answer = (await ask('keep [o]urs, [t]heirs, enter a [v]alue, [s]kip, [q]uit? ')).trim().toLowerCase();
        if (answer === 'q') return { decisions, interrupted: false };
        if (answer === 's') {
          confirm(x.id, 'skipped (stays open)');
          break;
        }
        if (answer === 'o' || answer === 't') {
          const choice = answer === 'o' ? 'ours' : 'theirs';
          decisions.push({ id: x.id, choice });
          confirm(x.id, `keep ${choice}: ${wrap(wholeSide(choice === 'ours' ? x.ours : x.theirs, rowLevel), width, 6)}`);
          break;
        }
        if (answer === 'v') {
          const text = await ask(rowLevel ? 'row as JSON (null deletes it): ' : 'value as JSON ("text", 12, 1.5, null): ');
          let value: unknown;
          try {
            value = parseSqlJson(text);
          } catch {
            out.opts.stderr.write(c.red('not valid JSON') + c.dim(' (text needs quotes: "like this")') + '\n');
            continue;
          }
          const fits = rowLevel ? value === null || (typeof value === 'object' && !Array.isArray(value)) : fromJsonValue(value) !== undefined;
          if (!fits) {
            out.opts.stderr.write(c.red(rowLevel ? 'give an object of column values, or null' : 'give one value, not an object or array') + '\n');
            continue;
          }
          decisions.push({ id: x.id, choice: 'value', value });
          confirm(x.id, `set to ${wrap(wholeSide(value, rowLevel), width, 6)}`);
          break;
        }
      }
    }
    return { decisions, interrupted: false };
  } catch (err) {
    if (!(err instanceof Stopped)) throw err;
    out.opts.stderr.write('\n' + c.yellow(`stopped: keeping the ${decisions.length} answer${decisions.length === 1 ? '' : 's'} given`) + '\n');
    return { decisions, interrupted: true };
  } finally {
    rl.close();
  }
}
