import type { EventEmitter } from 'node:events';
import type { ConflictView } from '../db/conflicts/list.js';
import type { LiveStatus, LiveTransfer } from '../sync/client/live.js';
import { stringifyJson } from '../values.js';
import { formatCount, formatMs } from './format.js';
import type { Output } from './output.js';

/** What each state means to a person watching (the error, when there is one, follows). */
const STATE_TEXT: Record<LiveStatus['state'], string> = {
  connecting: 'connecting',
  live: 'live',
  offline: 'offline: the hub keeps failing; probing it once a minute',
  needs_auth: 'needs auth: the hub refused the credentials; no more tries until restarted with a valid token',
  stopped: 'stopped',
};

/**
 * Prints a live sync as it goes: with --json one NDJSON event a line on stdout
 * (`{"event":"status"|"pushed"|"pulled"|"conflict",…}`), else one line per state change and per
 * transfer on stderr. Returns the final line's printer (the totals, human only).
 */
export function renderLive(out: Output, live: EventEmitter, remote: string): { final(): void } {
  const started = performance.now();
  const totals = { pushed: 0, pulled: 0, conflicts: 0 };
  const c = out.c;
  const event = (name: string, body: object): void => out.data(stringifyJson({ event: name, ...body }) + '\n');
  live.on('status', (s: LiveStatus) => {
    if (out.json) return event('status', s);
    const why = s.error && s.state !== 'stopped' ? c.dim(` (${String(s.error.message)})`) : '';
    const colour = s.state === 'live' ? c.green : s.state === 'connecting' || s.state === 'stopped' ? c.cyan : c.yellow;
    out.note(`${c.bold(remote)}: ${colour(STATE_TEXT[s.state])}${why}${s.pending > 0 ? c.dim(`, ${formatCount(s.pending)} local change(s) to push`) : ''}`);
  });
  for (const verb of ['pushed', 'pulled'] as const) {
    live.on(verb, (t: LiveTransfer) => {
      totals[verb] += t.changes;
      if (out.json) event(verb, t);
      else out.note(`${c.bold(remote)}: ${verb} ${formatCount(t.changes)} change${t.changes === 1 ? '' : 's'} in ${formatMs(t.ms)}`);
    });
  }
  live.on('conflict', (x: ConflictView) => {
    totals.conflicts++;
    if (out.json) event('conflict', x);
    else out.note(c.yellow(`conflict #${x.id} on ${x.table}${x.column ? `.${x.column}` : ''}: ${x.winner} won (see \`crsync conflicts\`)`));
  });
  return {
    final() {
      const conflicts = totals.conflicts > 0 ? `, ${formatCount(totals.conflicts)} conflict(s)` : '';
      out.note(`${c.bold(remote)}: stopped after ${formatMs(performance.now() - started)}: pushed ${formatCount(totals.pushed)}, pulled ${formatCount(totals.pulled)} change(s)${conflicts}`);
    },
  };
}
