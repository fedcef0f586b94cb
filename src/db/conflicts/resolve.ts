import { CrsyncError, UsageError } from '../../errors.js';
import { fromJsonValue, sqlValuesEqual, stringifySqlJson, type JsonSqlValue, type SqlValue } from '../../values.js';
import { requireConflicts, unpackPk, type ConflictView } from './list.js';
import { primaryKeyColumns, tableColumns, tableExists } from '../schema/read.js';
import { dbVersion, quoteIdent, type Db } from '../store.js';
import { ResolutionStore } from './resolutions.js';
import { cellWrite } from './cell-clock.js';
import type { ConflictWrites } from './pair.js';

/** What to keep of a conflict: one side, or a value given by the user. */
export type ResolveChoice = 'ours' | 'theirs' | 'value';

/** One decision: a conflict and what to keep (value in crsync JSON form for `value`). */
export interface ResolveDecision {
  id: number;
  choice: ResolveChoice;
  value?: unknown;
}

/** What resolving one conflict did. */
export interface ResolvedConflict {
  id: number;
  table: string;
  pk: Record<string, JsonSqlValue>;
  column: string | null;
  choice: ResolveChoice;
  /** The value kept (a row object, or null for a deleted row, on delete_update). */
  value: unknown;
  /** True when the kept value was not the current one and was written as a new local change. */
  written: boolean;
  /** Present when the row was deleted after the conflict: the delete stands, nothing was written. */
  rowDeleted?: true;
}

/** Result of `crsync resolve`. */
export interface ResolveResult {
  resolved: ResolvedConflict[];
  /** Conflicts whose choice was written as a new local change (it wins after the next sync). */
  written: number;
  dbVersion: bigint;
}

type Row = Record<string, SqlValue>;

function scalar(v: unknown, what: string): SqlValue {
  const s = fromJsonValue(v);
  if (s === undefined) throw new UsageError(`${what} is not an SQLite value: ${stringifySqlJson(v)}`, 'give a JSON string, number, null or {"$blob":"hex"}');
  return s;
}

/** A delete_update side: null (the row deleted) or a row object of column values. */
function rowSide(v: unknown, what: string): Row | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || fromJsonValue(v) !== undefined) {
    throw new UsageError(`${what} must be null (delete the row) or an object of column values`, `e.g. --value '{"name":"x"}'`);
  }
  const out: Row = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = scalar(x, `${what}.${k}`);
  return out;
}

function target(c: ConflictView, d: ResolveDecision): unknown {
  if (d.choice === 'ours') return c.ours;
  if (d.choice === 'theirs') return c.theirs;
  return d.value;
}

/**
 * Writes `want` to one cell when it differs from the current value. A row deleted since the
 * conflict is left deleted (the delete came later and decides): nothing is written.
 */
function resolveCell(db: Db, c: ConflictView, pkVals: SqlValue[], want: SqlValue): 'written' | 'current' | 'row_deleted' {
  const pkCols = primaryKeyColumns(db, c.table);
  const where = pkCols.map((k) => `${quoteIdent(k)} = ?`).join(' AND ');
  const col = quoteIdent(c.column!);
  const row = db.prepare(`SELECT ${col} FROM ${quoteIdent(c.table)} WHERE ${where}`).raw(true).safeIntegers(true).get(...pkVals) as SqlValue[] | undefined;
  if (!row) return 'row_deleted';
  if (sqlValuesEqual(row[0] ?? null, want)) return 'current';
  db.prepare(`UPDATE ${quoteIdent(c.table)} SET ${col} = ? WHERE ${where}`).run(want, ...pkVals);
  return 'written';
}

/** Makes the row absent (want null) or present with the given column values; returns whether it wrote. */
function resolveRow(db: Db, c: ConflictView, pkVals: SqlValue[], want: Row | null): boolean {
  const t = quoteIdent(c.table);
  const pkCols = primaryKeyColumns(db, c.table);
  const where = pkCols.map((k) => `${quoteIdent(k)} = ?`).join(' AND ');
  const current = db.prepare(`SELECT * FROM ${t} WHERE ${where}`).safeIntegers(true).get(...pkVals) as Row | undefined;
  if (want === null) {
    if (!current) return false;
    db.prepare(`DELETE FROM ${t} WHERE ${where}`).run(...pkVals);
    return true;
  }
  const cols = new Set(tableColumns(db, c.table).map((x) => x.name));
  const values = Object.entries(want).filter(([k]) => !pkCols.includes(k));
  for (const [k] of values) {
    if (!cols.has(k)) throw new CrsyncError('no_such_column', `table ${c.table} has no column ${k}`, { hint: `its columns are ${[...cols].join(', ')}` });
  }
  if (!current) {
    const names = [...pkCols, ...values.map(([k]) => k)].map(quoteIdent).join(', ');
    const marks = [...pkCols, ...values].map(() => '?').join(', ');
    db.prepare(`INSERT INTO ${t} (${names}) VALUES (${marks})`).run(...pkVals, ...values.map(([, v]) => v));
    return true;
  }
  const differ = values.filter(([k, v]) => !sqlValuesEqual(current[k] ?? null, v));
  if (differ.length === 0) return false;
  const sets = differ.map(([k]) => `${quoteIdent(k)} = ?`).join(', ');
  db.prepare(`UPDATE ${t} SET ${sets} WHERE ${where}`).run(...differ.map(([, v]) => v), ...pkVals);
  return true;
}

/**
 * Resolves conflicts in one transaction. Keeping the value the cell (or row) already has only
 * marks the conflict resolved; any other choice is written as a plain local change, which gets
 * a higher col_version (or causal length) than both conflicting writes, so it wins on every
 * replica after the next sync without being concurrent with anything they have seen.
 */
export function resolveConflicts(db: Db, decisions: ResolveDecision[]): ResolveResult {
  const conflicts = new Map(requireConflicts(db, decisions.map((d) => d.id)).map((c) => [c.id, c]));
  const mark = db.prepare('UPDATE crsync_conflicts SET resolved_at = ?, resolution = ?, resolved_by = NULL WHERE id = ?');
  const resolutions = new ResolutionStore(db);
  const resolved = db.transaction((): ResolvedConflict[] => {
    const out: ResolvedConflict[] = [];
    for (const d of decisions) {
      const c = conflicts.get(d.id)!;
      if (!tableExists(db, c.table)) throw new CrsyncError('no_such_table', `conflict ${c.id}: table ${c.table} no longer exists`);
      const pkVals = unpackPk(db, packedPk(db, c.id));
      const want = target(c, d);
      const outcome =
        c.kind === 'update_update'
          ? resolveCell(db, c, pkVals, scalar(want, `the value for conflict ${c.id}`))
          : resolveRow(db, c, pkVals, rowSide(want, `the value for conflict ${c.id}`)) ? 'written' : 'current';
      mark.run(new Date().toISOString(), d.choice, c.id);
      // The resolution travels, so the conflict's copies elsewhere close too (keeping the
      // winner writes no change that could carry it).
      const written = outcome === 'written' && c.kind === 'update_update' ? (cellWrite(db, c.table, packedPk(db, c.id), c.column!)?.version ?? null) : null;
      resolutions.recordLocal({ ...writesOf(db, c.id), winner: c.winner }, d.choice, stringifySqlJson(want), written);
      const r: ResolvedConflict = { id: c.id, table: c.table, pk: c.pk, column: c.column, choice: d.choice, value: want, written: outcome === 'written' };
      if (outcome === 'row_deleted') r.rowDeleted = true;
      out.push(r);
    }
    return out;
  })();
  return { resolved, written: resolved.filter((r) => r.written).length, dbVersion: dbVersion(db) };
}

/** The two writes a conflict record names. */
function writesOf(db: Db, id: number): ConflictWrites {
  const r = db
    .prepare('SELECT tbl, pk, cid, kind, ours_site, theirs_site, ours_col_version, theirs_col_version FROM crsync_conflicts WHERE id = ?')
    .safeIntegers(true)
    .get(id) as { tbl: string; pk: Buffer; cid: string | null; kind: ConflictWrites['kind']; ours_site: Buffer | null; theirs_site: Buffer | null; ours_col_version: bigint | null; theirs_col_version: bigint | null };
  return { table: r.tbl, pk: r.pk, cid: r.cid, kind: r.kind, oursSite: r.ours_site, theirsSite: r.theirs_site, oursColVersion: r.ours_col_version, theirsColVersion: r.theirs_col_version };
}

/** The conflict's primary key as cr-sqlite packed it. */
function packedPk(db: Db, id: number): Buffer {
  return db.prepare('SELECT pk FROM crsync_conflicts WHERE id = ?').pluck().get(id) as Buffer;
}
