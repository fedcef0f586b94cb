import { CrsyncError } from '../../errors.js';
import type { Change } from '../../sync/protocol/types.js';
import type { TableSchema } from '../../sync/protocol/schema.js';
import { packedPkProblem } from './packed-pk.js';
import { clockProblem } from './clock-check.js';

/** What checking a change needs of its table: its column names and how many key columns it has. */
export interface TableShape {
  names: Set<string>;
  pkCount: number;
}

/** The shapes of a schema's tables, by name. */
export function tableShapes(tables: TableSchema[]): Map<string, TableShape> {
  return new Map(tables.map((t) => [t.name, { names: new Set(t.columns.map((c) => c.name)), pkCount: t.columns.filter((c) => c.pk > 0).length }]));
}

/** A change no cr-sqlite replica produces: nothing of its page is applied. */
export function badChange(c: Change, why: string): CrsyncError {
  return new CrsyncError('bad_change', `a change to ${c[0]}.${c[2]} cannot be merged: ${why}`, {
    hint: 'the peer sent a change no cr-sqlite replica produces; nothing of its page was applied',
  });
}

/**
 * Refuses a page that names tables or columns the receiver lacks (schema mismatch) or that no
 * peer could have produced: cr-sqlite trusts what it merges, so malformed keys or clocks stop
 * here (on a hub of either store, before anything of the page is written).
 */
export function validateChanges(changes: Change[], tables: Map<string, TableShape>): void {
  for (const c of changes) {
    const table = tables.get(c[0]);
    if (!table) {
      throw new CrsyncError('unknown_table', `changes name table ${c[0]}, which is not replicated here`, {
        hint: 'the two replicas have different schemas; compare them with `crsync status` and `crsync doctor`',
      });
    }
    if (c[2] !== '-1' && !table.names.has(c[2])) {
      throw new CrsyncError('unknown_column', `changes name column ${c[0]}.${c[2]}, which does not exist here`, {
        hint: 'the two replicas have different schemas; run `crsync migrate` or sync the schema first',
      });
    }
    const problem =
      packedPkProblem(c[1], table.pkCount) ??
      (c[6].length !== 16 ? 'its site id is not 16 bytes' : null) ??
      clockProblem(c);
    if (problem) throw badChange(c, problem);
  }
}
