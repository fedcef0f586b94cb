import { CrsyncError } from '../../errors.js';
import { parseSqlJson, toJsonValue, type JsonSqlValue, type SqlValue } from '../../values.js';
import { primaryKeyColumns, tableExists } from '../schema/read.js';
import type { Db } from '../store.js';
import { packedPkProblem } from '../changes/packed-pk.js';

/** One recorded conflict as `crsync conflicts --json` shows it. */
export interface ConflictView {
  id: number;
  table: string;
  /** Primary-key column values of the row. */
  pk: Record<string, JsonSqlValue>;
  /** null for a row-level delete/update conflict. */
  column: string | null;
  kind: 'update_update' | 'delete_update';
  /** This replica's value (a row object for delete_update; null when deleted). */
  ours: unknown;
  /** The incoming value (a row object for delete_update; null when deleted). */
  theirs: unknown;
  winner: 'ours' | 'theirs';
  remote: string | null;
  detectedAt: string;
  resolved: boolean;
  resolvedAt: string | null;
  /** ours, theirs, value (crsync resolve, here or elsewhere) or superseded (a later write decided the cell). */
  resolution: string | null;
  /** Site that resolved it when that was another replica (its resolution travelled here), else null. */
  resolvedBy: string | null;
  oursSite: string | null;
  theirsSite: string | null;
}

/** Which conflicts to list or resolve. */
export interface ConflictSelection {
  /** Include resolved ones (conflicts --all). */
  all?: boolean;
  table?: string;
  ids?: number[];
}

interface ConflictRow {
  id: bigint;
  tbl: string;
  pk: Buffer;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  ours: string | null;
  theirs: string | null;
  winner: 'ours' | 'theirs';
  ours_site: Buffer | null;
  theirs_site: Buffer | null;
  remote: string | null;
  detected_at: string;
  resolved_at: string | null;
  resolution: string | null;
  resolved_by: Buffer | null;
}

/** Decodes cr-sqlite's packed primary key into column values, in key order. */
export function unpackPk(db: Db, pk: Uint8Array): SqlValue[] {
  return db.prepare('SELECT cell FROM crsql_unpack_columns(?)').pluck().safeIntegers(true).all(pk) as SqlValue[];
}

/** Names the key values by the table's primary-key columns (positional names when the table is gone). */
function namedPk(db: Db, table: string, values: SqlValue[], cache: Map<string, string[]>): Record<string, JsonSqlValue> {
  let cols = cache.get(table);
  if (!cols) {
    cols = tableExists(db, table) ? primaryKeyColumns(db, table) : [];
    cache.set(table, cols);
  }
  const out: Record<string, JsonSqlValue> = {};
  values.forEach((v, i) => (out[cols[i] ?? `pk${i + 1}`] = toJsonValue(v)));
  return out;
}

function parseSide(text: string | null): unknown {
  return text === null ? null : parseSqlJson(text);
}

/** Lists conflicts, oldest first: open ones, or all with `all`; by table or ids when given. */
export function listConflicts(db: Db, sel: ConflictSelection = {}): ConflictView[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (!sel.all && !sel.ids) where.push('resolved_at IS NULL');
  if (sel.table !== undefined) {
    where.push('tbl = ?');
    args.push(sel.table);
  }
  if (sel.ids) {
    where.push(`id IN (${sel.ids.map(() => '?').join(', ') || 'NULL'})`);
    args.push(...sel.ids);
  }
  const sql = `SELECT * FROM crsync_conflicts ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id`;
  const rows = db.prepare(sql).safeIntegers(true).all(...args) as ConflictRow[];
  const cache = new Map<string, string[]>();
  const out: ConflictView[] = [];
  for (const r of rows) {
    // A record this replica cannot read (one relayed before records were checked) is left out
    // rather than failing the whole list.
    try {
      out.push(view(db, r, cache));
    } catch {
      continue;
    }
  }
  return out;
}

function view(db: Db, r: ConflictRow, cache: Map<string, string[]>): ConflictView {
  // cr-sqlite's unpacking trusts its input (a cut-off key aborts the process): check it first.
  if (packedPkProblem(r.pk, r.pk[0] ?? 0) !== null) throw new Error('malformed key');
  const pk = namedPk(db, r.tbl, unpackPk(db, r.pk), cache);
  // A key column is never in conflict (it names the row): resolving one would rewrite the key.
  if (r.cid !== null && r.cid in pk) throw new Error('conflict on a key column');
  return {
    id: Number(r.id),
    table: r.tbl,
    pk,
    column: r.cid,
    kind: r.kind,
    ours: parseSide(r.ours),
    theirs: parseSide(r.theirs),
    winner: r.winner,
    remote: r.remote,
    detectedAt: r.detected_at,
    resolved: r.resolved_at !== null,
    resolvedAt: r.resolved_at,
    resolution: r.resolution,
    resolvedBy: r.resolved_by ? r.resolved_by.toString('hex') : null,
    oursSite: r.ours_site ? r.ours_site.toString('hex') : null,
    theirsSite: r.theirs_site ? r.theirs_site.toString('hex') : null,
  };
}

/** Conflicts by id; every id must exist (no_such_conflict, exit 1: the id is well-formed, it names nothing). */
export function requireConflicts(db: Db, ids: number[]): ConflictView[] {
  const found = listConflicts(db, { ids });
  const missing = ids.filter((id) => !found.some((c) => c.id === id));
  if (missing.length > 0) {
    throw new CrsyncError('no_such_conflict', `no conflict with id ${missing.join(', ')}`, {
      hint: 'list them with `crsync conflicts --all`',
    });
  }
  return found;
}

/** Number of open conflicts. */
export function countOpenConflicts(db: Db): number {
  return Number(db.prepare('SELECT count(*) FROM crsync_conflicts WHERE resolved_at IS NULL').pluck().get());
}
