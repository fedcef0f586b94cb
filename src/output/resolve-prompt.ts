import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import { CrsyncError } from '../errors.js';
import type { ConflictView } from '../db/conflicts/list.js';
import type { ResolveDecision } from '../db/conflicts/resolve.js';
import { fromJsonValue, parseSqlJson } from '../values.js';
import type { Output } from './output.js';
import { describeCell, displaySide } from './conflicts-render.js';

/**
 * Asks, conflict by conflict, what to keep (on a terminal only): ours, theirs, a value, skip or
 * quit. Returns the decisions made; the ones skipped are left open.
 */
export async function promptResolutions(conflicts: ConflictView[], stdin: Readable, out: Output): Promise<ResolveDecision[]> {
  const c = out.e;
  const rl = createInterface({ input: stdin, output: out.opts.stderr, terminal: true });
  // Ctrl-C or Ctrl-D while asking: stop, and resolve nothing.
  const stop = new AbortController();
  rl.on('SIGINT', () => stop.abort());
  const ask = async (q: string): Promise<string> => {
    try {
      return await rl.question(q, { signal: stop.signal });
    } catch {
      throw new CrsyncError('interrupted', 'stopped: nothing was resolved');
    }
  };
  const decisions: ResolveDecision[] = [];
  try {
    for (const x of conflicts) {
      const rowLevel = x.kind === 'delete_update';
      out.opts.stderr.write(
        `\n${c.bold('#' + x.id)} ${describeCell(x)} ${c.dim(x.kind)}\n` +
          `  ours   ${displaySide(x.ours, rowLevel)}${x.winner === 'ours' ? c.green('  (won)') : ''}\n` +
          `  theirs ${displaySide(x.theirs, rowLevel)}${x.winner === 'theirs' ? c.green('  (won)') : ''}` +
          c.dim(x.remote ? `  via ${x.remote}` : '') + '\n',
      );
      for (;;) {
        const answer = (await ask('keep [o]urs, [t]heirs, enter a [v]alue, [s]kip, [q]uit? ')).trim().toLowerCase();
        if (answer === 'q') return decisions;
        if (answer === 's') break;
        if (answer === 'o' || answer === 't') {
          decisions.push({ id: x.id, choice: answer === 'o' ? 'ours' : 'theirs' });
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
          break;
        }
      }
    }
    return decisions;
  } finally {
    rl.close();
  }
}
