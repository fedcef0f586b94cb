import type { ChalkInstance } from 'chalk';
import type { StatusResult } from '../sync/client/status.js';

function byTable(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([t, n]) => `${t} ${n}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** `crsync status` for humans. */
export function renderStatus(s: StatusResult, c: ChalkInstance): string {
  const label = (k: string): string => c.dim(k.padEnd(10));
  const lines = [
    `${label('database')}${s.db}`,
    `${label('site')}${s.siteId}`,
    `${label('version')}${s.dbVersion} (schema v${s.schema.version}, ${s.schema.hash.slice(0, 12)})`,
    `${label('tables')}${s.tables.length ? s.tables.map((t) => `${t.name} (${t.rows} rows)`).join(', ') : c.dim('none replicated (crsync track <table>)')}`,
    `${label('conflicts')}${s.conflicts === 0 ? '0' : c.yellow(`${s.conflicts} open`) + c.dim('  (crsync conflicts)')}`,
  ];
  if (s.remotes.length === 0) lines.push(`${label('remotes')}${c.dim('none (crsync remote add origin <url>)')}`);
  for (const r of s.remotes) {
    lines.push('', `${c.bold('remote ' + r.name)}  ${r.url}`);
    lines.push(`  ${label('last push')}${r.lastPush ?? c.dim('never')}`);
    lines.push(`  ${label('last pull')}${r.lastPull ?? c.dim('never')}`);
    lines.push(`  ${label('unpushed')}${r.unpushed === 0 ? '0' : c.yellow(String(r.unpushed)) + byTable(r.unpushedByTable)}`);
    const unpulled = r.unpulled === null ? c.yellow('unknown') + (r.note ? c.dim(`  (${r.note})`) : '') : r.unpulled === 0 ? '0' : c.yellow(String(r.unpulled));
    lines.push(`  ${label('unpulled')}${unpulled}`);
  }
  lines.push('', s.inSync ? c.green('in sync') : c.yellow('not in sync') + c.dim(s.remotes.length ? '  (crsync sync)' : ''));
  return lines.join('\n');
}
