import type { ChalkInstance } from 'chalk';
import type { RowEntry } from '../db/changes/entries.js';
import type { ConflictDetail, ConflictSide } from '../db/conflicts/show.js';
import type { RowBlame } from '../db/show.js';
import type { DiffResult } from '../sync/client/diff.js';
import { displayValue, fromJsonValue, stringifyJson } from '../values.js';
import { describeCell, displayPk } from './conflicts-render.js';
import { renderTable } from './format.js';

/** A value in full (no clipping): a scalar as SQLite shows it, anything else as JSON. */
export function full(v: unknown): string {
  const s = fromJsonValue(v);
  return s === undefined ? stringifyJson(v) : s === null ? 'NULL' : typeof s === 'string' ? JSON.stringify(s) : displayValue(s);
}

function entryLines(e: RowEntry, c: ChalkInstance): string[] {
  const where = `${e.table} ${displayPk(e.pk)}`;
  if (e.kind === 'delete') return [c.red(`- ${where}`)];
  const mark = e.kind === 'insert' ? c.green('+') : c.yellow('~');
  const paint = e.kind === 'insert' ? c.green : c.yellow;
  return [`${mark} ${c.bold(where)}`, ...Object.entries(e.columns).map(([k, v]) => paint(`    ${k} = ${full(v)}`))];
}

/** `crsync diff` like `dolt diff`: + inserted, ~ updated, - deleted rows, the new values under each. */
export function renderDiff(r: DiffResult, c: ChalkInstance): string {
  const section = (title: string, list: RowEntry[]): string[] => [
    c.bold(title) + c.dim(` (${list.length} row${list.length === 1 ? '' : 's'})`),
    ...(list.length === 0 ? [c.dim('  nothing')] : list.flatMap((e) => entryLines(e, c))),
  ];
  if (r.remote === null) return section('local changes', r.outgoing).join('\n');
  return [...section(`outgoing to ${r.remote}`, r.outgoing), '', ...section(`incoming from ${r.remote}`, r.incoming)].join('\n');
}

/** `crsync show`: the row, and for each cell who wrote it and when. */
export function renderRowBlame(b: RowBlame, c: ChalkInstance): string {
  const head = `${c.bold(b.table)} ${displayPk(b.pk)}`;
  if (!b.exists) return `${head} ${c.dim('(no such row' + (b.conflicts.length ? '; deleted' : '') + ')')}`;
  const rows = b.cells.map((x) => [x.column, full(x.value), x.siteId ? x.siteId.slice(0, 8) : null, x.remote ?? (x.siteId ? 'local' : null), x.colVersion, x.dbVersion, x.at ? x.at.replace('T', ' ') : null]);
  const out = [head, renderTable(['column', 'value', 'site', 'via', 'col_version', 'db_version', 'at'], rows, c)];
  const open = b.conflicts.filter((x) => !x.resolved);
  if (b.conflicts.length > 0) out.push(c.dim(`${b.conflicts.length} conflict${b.conflicts.length === 1 ? '' : 's'} on this row (${open.length} open): crsync conflicts show <id> — ${b.conflicts.map((x) => '#' + x.id).join(' ')}`));
  return out.join('\n');
}

function sideLine(name: string, s: ConflictSide, winner: boolean, c: ChalkInstance): string[] {
  const who = s.local ? 'this replica' : `site ${s.siteId ?? '?'}${s.remote ? ` (via ${s.remote})` : ''}`;
  const tag = winner ? c.green(' [won]') : c.red(' [lost]');
  return [`${c.bold(name)}${tag}  ${c.dim(`${who}, version ${s.version ?? '?'}`)}`, `    ${full(s.value)}`];
}

/** `crsync conflicts show <id>`: both sides in full, who wrote them, the current value, how to resolve. */
export function renderConflictDetail(d: ConflictDetail, c: ChalkInstance): string {
  const x = d.conflict;
  const state = x.resolved ? c.green(`resolved (${x.resolution}) at ${x.resolvedAt}${x.resolvedBy ? ` by site ${x.resolvedBy}` : ''}`) : c.yellow('open');
  return [
    `${c.bold(`conflict #${x.id}`)}  ${describeCell(x)}  ${x.kind}  ${state}`,
    c.dim(`detected ${x.detectedAt}${x.remote ? ` through ${x.remote}` : ''}`),
    ...sideLine('ours', d.ours, x.winner === 'ours', c),
    ...sideLine('theirs', d.theirs, x.winner === 'theirs', c),
    `${c.bold('now')}  ${d.current.exists ? full(d.current.value) : c.dim('(row deleted)')}`,
    ...(d.resolveWith.length ? [c.dim('resolve with: ' + d.resolveWith.join('  |  '))] : []),
  ].join('\n');
}
