import type { ChalkInstance } from 'chalk';
import type { SqlResult, SqlStatementResult } from '../db/sql.js';
import { csvHeader, csvRecord } from '../formats/csv-write.js';
import { stringifyRow, type SqlValue } from '../values.js';
import { formatCount, renderTable } from './format.js';

function toObject(columns: string[], row: SqlValue[]): Record<string, SqlValue> {
  // fromEntries defines own properties, so a column named __proto__ stays a column.
  return Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null]));
}

function rowsJson(columns: string[], rows: SqlValue[][]): string {
  return '[' + rows.map((r) => stringifyRow(toObject(columns, r))).join(',\n') + ']';
}

function statementJson(r: SqlStatementResult, index: number): string {
  const head = `{"statement":${index + 1}`;
  if (r.kind === 'rows') return `${head},"columns":${JSON.stringify(r.columns)},"rows":${rowsJson(r.columns, r.rows)}}`;
  if (r.kind === 'changes') return `${head},"changes":${r.changes}}`;
  return head + '}';
}

/**
 * `sql --json`, one document, types exact: one query gives an array of row objects; one other
 * statement `{"changes": n}`; several statements `{"results": [...], "changes": total}` with
 * each statement's rows or count in order (documented in the README).
 */
export function renderSqlJson(r: SqlResult): string {
  const only = r.results.length === 1 ? r.results[0]! : undefined;
  if (only?.kind === 'rows') return rowsJson(only.columns, only.rows) + '\n';
  if (only) return `{"changes":${only.kind === 'changes' ? only.changes : 0}}\n`;
  return `{"results":[${r.results.map(statementJson).join(',\n')}],"changes":${r.changes}}\n`;
}

/** `sql --csv`: every result set, a blank line between two. */
export function renderSqlCsv(r: SqlResult): string {
  return r.results
    .filter((x): x is Extract<SqlStatementResult, { kind: 'rows' }> => x.kind === 'rows')
    .map((x) => csvHeader(x.columns) + x.rows.map((row) => csvRecord(row)).join(''))
    .join('\n');
}

/** The tables of every statement that returned rows (stdout), a blank line between two. */
export function renderSqlTables(r: SqlResult, c: ChalkInstance): string {
  return r.results
    .filter((x): x is Extract<SqlStatementResult, { kind: 'rows' }> => x.kind === 'rows')
    .map((x) => renderTable(x.columns, x.rows, c))
    .join('\n\n');
}

/** The note on stderr: row counts and rows changed; DDL alone says nothing. */
export function renderSqlNote(r: SqlResult): string | undefined {
  const parts: string[] = [];
  for (const x of r.results) {
    if (x.kind === 'rows') parts.push(`${formatCount(x.rows.length)} row${x.rows.length === 1 ? '' : 's'}`);
  }
  if (r.results.some((x) => x.kind === 'changes')) parts.push(`${formatCount(r.changes)} row${r.changes === 1 ? '' : 's'} changed`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}
