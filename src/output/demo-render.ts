import type { ChalkInstance } from 'chalk';
import type { DemoOutcome, DemoResult, DemoStep } from '../demo/run.js';
import { renderConflicts, renderResolve } from './conflicts-render.js';
import { renderTable } from './format.js';
import { renderStatus } from './status-render.js';
import { renderTransfer } from './sync-render.js';

const indent = (text: string): string =>
  text
    .split('\n')
    .map((l) => (l ? '    ' + l : l))
    .join('\n');

function outcome(o: DemoOutcome, c: ChalkInstance): string {
  switch (o.kind) {
    case 'hub':
      return `hub at ${o.url}\nworking in ${o.dir}`;
    case 'rows':
      return renderTable(o.columns, o.rows, c);
    case 'push':
      return renderTransfer('pushed', o.result, c);
    case 'clone':
      return `cloned ${o.result.received} changes into bob.db (site ${o.result.siteId.slice(0, 8)})`;
    case 'edits':
      return o.edits.map((e) => `${e.replica}: ${e.changed} row${e.changed === 1 ? '' : 's'} changed`).join('\n');
    case 'sync':
      return o.results.map((r) => `${c.bold(r.replica)} ${renderTransfer('synced', r.result, c)}`).join('\n');
    case 'status':
      return renderStatus(o.result, c);
    case 'conflicts':
      return renderConflicts(o.result, c, false).split('\n').slice(0, -1).join('\n');
    case 'resolve':
      return renderResolve(o.result, c);
    case 'converged': {
      const rows = [...o.alice.map((r) => ['alice', ...r]), ...o.bob.map((r) => ['bob', ...r])];
      const verdict = o.same ? c.green(`alice, bob and the hub hold the same ${o.rows} rows; nothing to sync, no open conflict`) : c.red('the replicas differ');
      return renderTable(['replica', ...o.columns], rows, c) + '\n' + verdict;
    }
  }
}

/** One demo step: number, title, why, the equivalent commands, and what came out. */
export function renderDemoStep(s: DemoStep, c: ChalkInstance): string {
  const lines = [`${c.bold.cyan(`${s.n}.`)} ${c.bold(s.title)}`, c.dim(`   ${s.explain}`)];
  for (const cmd of s.commands) lines.push(c.cyan(`   $ ${cmd}`));
  lines.push(indent(outcome(s.outcome, c)), '');
  return lines.join('\n');
}

/** The closing lines of the demo. */
export function renderDemoEnd(r: DemoResult, c: ChalkInstance): string {
  const where = r.kept ? `the files are in ${r.dir} (alice.db, bob.db, hub/)` : 'the temporary folder was removed (--keep keeps it)';
  return `${r.converged ? c.green('done: the replicas converged') : c.red('the replicas did not converge')}; ${where}`;
}
