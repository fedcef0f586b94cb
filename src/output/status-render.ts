import type { ChalkInstance } from 'chalk';
import type { StatusResult } from '../sync/client/status.js';
import { formatCount, formatTime } from './format.js';

function byTable(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([t, n]) => `${t} ${formatCount(n)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** What to do next, pointing at the one thing that is out of sync (not always `crsync sync`). */
export function statusVerdict(s: StatusResult): { ok: boolean; text: string } {
  if (s.cloneUnfinished !== null) return { ok: false, text: `the clone of ${s.cloneUnfinished} stopped before its end (crsync pull finishes it)` };
  const steps: string[] = [];
  for (const r of s.remotes) {
    const out = r.unpushed > 0;
    const inn = r.unpulled !== null && r.unpulled > 0;
    if (out && inn) steps.push(`crsync sync ${r.name}`);
    else if (out) steps.push(`crsync push ${r.name}`);
    else if (inn) steps.push(`crsync pull ${r.name}`);
  }
  if (s.conflicts > 0) steps.push('crsync conflicts, then crsync resolve');
  const unknown = s.remotes.filter((r) => r.unpulled === null).map((r) => r.name);
  if (steps.length > 0) return { ok: false, text: `not in sync (${steps.join('; ')})` };
  if (!s.checkedRemotes && s.remotes.length > 0) return { ok: true, text: 'nothing to push; unpulled not checked (--offline)' };
  if (unknown.length > 0) return { ok: false, text: `nothing to push; unknown what ${unknown.join(', ')} has (see the notes above)` };
  return { ok: true, text: 'in sync' };
}

/** `crsync status` for humans. */
export function renderStatus(s: StatusResult, c: ChalkInstance): string {
  const label = (k: string): string => c.dim(k.padEnd(10));
  const lines = [
    `${label('database')}${s.db}`,
    `${label('site')}${s.siteId}`,
    `${label('version')}${s.dbVersion} (schema v${s.schema.version}, ${s.schema.hash.slice(0, 12)})`,
    `${label('tables')}${s.tables.length ? s.tables.map((t) => `${t.name} (${formatCount(t.rows)} rows)`).join(', ') : c.dim('none replicated (crsync track <table>)')}`,
    `${label('conflicts')}${s.conflicts === 0 ? '0' : c.yellow(`${formatCount(s.conflicts)} open`) + c.dim('  (crsync conflicts)')}`,
  ];
  if (s.cloneUnfinished !== null) lines.push(`${label('clone')}${c.yellow('unfinished')}${c.dim('  (crsync pull)')}`);
  if (s.remotes.length === 0) lines.push(`${label('remotes')}${c.dim('none (crsync remote add origin <url>)')}`);
  for (const r of s.remotes) {
    lines.push('', `${c.bold('remote ' + r.name)}  ${r.url}`);
    lines.push(`  ${label('last push')}${r.lastPush ? formatTime(r.lastPush) : c.dim('never')}`);
    lines.push(`  ${label('last pull')}${r.lastPull ? formatTime(r.lastPull) : c.dim('never')}`);
    lines.push(`  ${label('unpushed')}${r.unpushed === 0 ? '0' : c.yellow(formatCount(r.unpushed)) + byTable(r.unpushedByTable)}`);
    const unpulled = r.unpulled === null ? c.yellow('unknown') + (r.note ? c.dim(`  (${r.note})`) : '') : r.unpulled === 0 ? '0' : c.yellow(formatCount(r.unpulled));
    lines.push(`  ${label('unpulled')}${unpulled}`);
  }
  const v = statusVerdict(s);
  lines.push('', v.ok ? c.green(v.text) : c.yellow(v.text));
  return lines.join('\n');
}
