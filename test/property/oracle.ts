import Database from 'better-sqlite3';
import type { Db } from '../../src/db/store.js';
import { fromJsonValue, parseSqlJson, sqlValuesEqual, type SqlValue } from '../../src/values.js';
import { TABLES } from './scenario.js';
import type { WriteRecord } from './world.js';

/*
 * The oracle. Convergence: every replica and the hub hold the same rows, storage classes
 * included. No silent loss: every committed local write is accounted for (see accountFor).
 */

/** A value with its storage class, as one comparable string (1, 1.0 and '1' all differ). */
export function typed(v: SqlValue): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `int:${v}`;
  if (typeof v === 'number') return `real:${Object.is(v, -0) ? '-0' : String(v)}`;
  if (typeof v === 'string') return `text:${JSON.stringify(v)}`;
  return `blob:${Buffer.from(v).toString('hex')}`;
}

/** Every replicated table's rows in key order, each row as one typed line. */
export function rowsOf(db: Db): string[] {
  const out: string[] = [];
  for (const [table, { pk }] of Object.entries(TABLES)) {
    const rows = db.prepare(`SELECT * FROM ${table} ORDER BY ${pk}`).raw(true).safeIntegers(true).all() as SqlValue[][];
    for (const r of rows) out.push(`${table}(${r.map(typed).join(', ')})`);
  }
  return out;
}

/** The rows of the hub's dataset file, read without cr-sqlite (reading needs no triggers). */
export function hubRows(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return rowsOf(db);
  } finally {
    db.close();
  }
}

/** A row's final state: causal length and cell values (absent row: even cl, no cells). */
export interface FinalRow {
  cl: bigint;
  cells: Map<string, SqlValue>;
}

/** Final state by table and packed primary key (hex), read through cr-sqlite's change view. */
export function finalState(db: Db): Map<string, FinalRow> {
  const out = new Map<string, FinalRow>();
  const rows = db.prepare('SELECT "table", pk, cid, val, cl FROM crsql_changes').raw(true).safeIntegers(true).all() as [string, Buffer, string, SqlValue, bigint][];
  for (const [table, pk, cid, val, cl] of rows) {
    const key = `${table}:${pk.toString('hex')}`;
    let row = out.get(key);
    if (!row) out.set(key, (row = { cl, cells: new Map() }));
    if (cl > row.cl) row.cl = cl;
    if (cid !== '-1') row.cells.set(cid, val);
  }
  return out;
}

/** A recorded conflict, with its losing side spelled out. */
export interface LostSide {
  where: string;
  table: string;
  pk: string;
  cid: string | null;
  kind: string;
  site: string | null;
  version: bigint | null;
  /** The losing value (update_update) or row (delete_update). */
  value: unknown;
}

interface ConflictRow {
  tbl: string;
  pk: Buffer;
  cid: string | null;
  kind: string;
  ours: string;
  theirs: string;
  winner: 'ours' | 'theirs';
  ours_site: Buffer | null;
  theirs_site: Buffer | null;
  ours_col_version: bigint | null;
  theirs_col_version: bigint | null;
}

/** The losing sides of every conflict recorded in one database (a replica or the hub). */
export function lostSides(db: Db, where: string): LostSide[] {
  const rows = db.prepare('SELECT * FROM crsync_conflicts').safeIntegers(true).all() as ConflictRow[];
  return rows.map((c) => {
    const oursLost = c.winner === 'theirs';
    return {
      where,
      table: c.tbl,
      pk: c.pk.toString('hex'),
      cid: c.cid,
      kind: c.kind,
      site: (oursLost ? c.ours_site : c.theirs_site)?.toString('hex') ?? null,
      version: oursLost ? c.ours_col_version : c.theirs_col_version,
      value: parseSqlJson(oursLost ? c.ours : c.theirs),
    };
  });
}

/** Conflicts of the hub's dataset file. */
export function hubLostSides(file: string): LostSide[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return lostSides(db, 'hub');
  } finally {
    db.close();
  }
}

/**
 * How a committed write is accounted for, or null when it vanished silently. The rule:
 * - a row sentinel (delete: even causal length; re-insert: odd) must not be undone: the final
 *   causal length is at least the write's (a later life means a later delete or re-insert);
 * - a cell write is `present` when the row is in the same life and the cell holds the value
 *   with its storage class;
 * - or `overwritten`: a later write to that cell, or a delete or re-insert of that row, by a
 *   replica that had merged it (its writer included), or had merged a write of the same value
 *   to the same cell and life (equal concurrent values merge without a conflict);
 * - or `recorded`: some replica or the hub lists it (or an equal-valued twin, as above) as the
 *   losing side of a conflict (update_update: same cell, site, col_version and value;
 *   delete_update: same row and life, the update side lost).
 * Anything else (an update dropped by a concurrent delete that nobody recorded, a value that
 * silently lost a merge) is a silent loss.
 */
export function accountFor(w: WriteRecord, log: WriteRecord[], final: Map<string, FinalRow>, lost: LostSide[], sites: string[]): string | null {
  const pk = w.pk.toString('hex');
  const row = final.get(`${w.table}:${pk}`);
  if (w.cid === '-1') return row && row.cl >= w.cl ? 'propagated' : null;
  if (row && row.cl === w.cl && row.cl % 2n === 1n && row.cells.has(w.cid) && sqlValuesEqual(row.cells.get(w.cid)!, w.val)) return 'present';
  // Writes of the same value to the same cell in the same life merge into one (no conflict is
  // recorded between equal values): a later writer that knew any of them knew this one.
  const twins = log.filter((x) => x === w || (x.table === w.table && x.pk.equals(w.pk) && x.cid === w.cid && x.cl === w.cl && sqlValuesEqual(x.val, w.val)));
  const later = log.some(
    (x) =>
      x.table === w.table &&
      x.pk.equals(w.pk) &&
      (x.cid === w.cid || (x.cid === '-1' && x.cl > w.cl)) &&
      twins.some((t) => !(x.replica === t.replica && x.txn === t.txn) && x.known[t.replica]! >= t.txn),
  );
  if (later) return 'overwritten';
  const hit = lost.some((c) => {
    if (c.table !== w.table || c.pk !== pk) return false;
    if (c.kind === 'update_update') {
      const v = fromJsonValue(c.value);
      const loser = (t: WriteRecord): boolean => c.site === sites[t.replica] && c.version === t.colVersion;
      return c.cid === w.cid && v !== undefined && sqlValuesEqual(v, w.val) && twins.some(loser);
    }
    return c.value !== null && c.version === w.cl;
  });
  return hit ? 'recorded' : null;
}

/** A write in a failure message. */
export function describeWrite(w: WriteRecord): string {
  return `r${w.replica} txn ${w.txn} (step ${w.step}): ${w.table}[${w.pk.toString('hex')}].${w.cid} = ${typed(w.val)} (col_version ${w.colVersion}, cl ${w.cl}, knew ${w.known.join('/')})`;
}

/** Recorded update_update losers that match no committed write (a conflict record made up). */
export function phantomLosers(lost: LostSide[], log: WriteRecord[], sites: string[]): LostSide[] {
  return lost.filter((c) => {
    if (c.kind !== 'update_update') return false;
    const v = fromJsonValue(c.value);
    return !log.some(
      (w) =>
        w.table === c.table && w.pk.toString('hex') === c.pk && w.cid === c.cid && sites[w.replica] === c.site &&
        w.colVersion === c.version && v !== undefined && sqlValuesEqual(v, w.val),
    );
  });
}
