import type { ChalkInstance } from 'chalk';
import type { ConflictView } from '../db/conflicts/list.js';
import type { ResolveResult } from '../db/conflicts/resolve.js';
import { displayValue, fromJsonValue, stringifyJson } from '../values.js';
import { formatTime, renderTable } from './format.js';

const MAX_CELL = 40;

function clip(s: string): string {
  const one = s.replace(/\n/g, '\\n');
  return one.length > MAX_CELL ? one.slice(0, MAX_CELL - 1) + '…' : one;
}

/** A conflict side or chosen value for humans: a scalar as SQLite shows it, a row as JSON, a deleted row as (deleted). */
export function displaySide(v: unknown, rowLevel: boolean): string {
  return clip(wholeSide(v, rowLevel));
}

/** The same, whole (the interactive resolve shows all of it, wrapped). */
export function wholeSide(v: unknown, rowLevel: boolean): string {
  if (rowLevel && v === null) return '(deleted)';
  const scalar = fromJsonValue(v);
  return scalar === undefined ? stringifyJson(v) : displayValue(scalar);
}

/** Wraps text at `width` columns, every line after the first indented by `indent` spaces. */
export function wrap(text: string, width: number, indent: number): string {
  const room = Math.max(20, width - indent);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    for (let i = 0; i < line.length || i === 0; i += room) out.push(line.slice(i, i + room));
  }
  return out.join('\n' + ' '.repeat(indent));
}

/** `id=1` or `a=1, b=x`. */
export function displayPk(pk: Record<string, unknown>): string {
  return Object.entries(pk)
    .map(([k, v]) => `${k}=${displaySide(v, false)}`)
    .join(', ');
}

/** Where a conflict is: table, key and column. */
export function describeCell(c: Pick<ConflictView, 'table' | 'pk' | 'column'>): string {
  return `${c.table}[${displayPk(c.pk)}]${c.column === null ? ' (row)' : '.' + c.column}`;
}

/** `crsync conflicts` as a table. */
export function renderConflicts(list: ConflictView[], c: ChalkInstance, all: boolean): string {
  if (list.length === 0) return c.dim(all ? 'no conflicts recorded' : 'no open conflicts');
  const rows = list.map((x) => [
    BigInt(x.id),
    x.table,
    displayPk(x.pk),
    x.column ?? '(row)',
    x.kind,
    displaySide(x.ours, x.kind === 'delete_update'),
    displaySide(x.theirs, x.kind === 'delete_update'),
    x.winner,
    x.remote ?? '-',
    formatTime(x.detectedAt),
    ...(all ? [x.resolution ?? 'open'] : []),
  ]);
  const head = ['id', 'table', 'key', 'column', 'kind', 'ours', 'theirs', 'winner', 'remote', 'detected', ...(all ? ['resolution'] : [])];
  const hint = list.some((x) => !x.resolved) ? '\n' + c.dim('keep a side with `crsync resolve <id> --ours|--theirs`, or set one with --value <json>') : '';
  return renderTable(head, rows, c) + hint;
}

/** `crsync resolve` outcome. */
export function renderResolve(r: ResolveResult, c: ChalkInstance): string {
  if (r.resolved.length === 0) return c.dim('nothing resolved');
  const lines = r.resolved.map((x) => {
    const kept = displaySide(x.value, x.column === null);
    const how = x.rowDeleted
      ? c.yellow('the row was deleted since: nothing written')
      : x.written
        ? c.green('written as a new local change')
        : c.dim('already current');
    return `${c.bold('#' + x.id)} ${describeCell(x)} = ${kept} (${x.choice}) — ${how}`;
  });
  if (r.written > 0) lines.push(c.dim(`sync to send ${r.written === 1 ? 'it' : 'them'} to the other replicas (crsync sync)`));
  return lines.join('\n');
}
