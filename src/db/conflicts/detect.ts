import type Database from 'better-sqlite3';
import type { Change } from '../../sync/protocol/types.js';
import { sqlValuesEqual, stringifySqlJson, toJsonValue, type SqlValue } from '../../values.js';
import { primaryKeyColumns, tableColumns } from '../schema/read.js';
import { quoteIdent, siteId, type Db } from '../store.js';
import type { ApplyContext } from '../changes/apply.js';
import { ConflictStore } from './store.js';
import { stmt } from '../statements.js';

/** A conflict found while merging, from the receiving replica's point of view. */
export interface DetectedConflict {
  id: number;
  table: string;
  pk: Uint8Array;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  ours: SqlValue | Record<string, SqlValue> | null;
  theirs: SqlValue | Record<string, SqlValue> | null;
  winner: 'ours' | 'theirs';
  oursSite: Uint8Array | null;
  theirsSite: Uint8Array | null;
  oursColVersion: bigint | null;
  theirsColVersion: bigint | null;
}

interface ClockEntry {
  cv: bigint;
  dbv: bigint;
  site: Buffer;
}

interface Candidate {
  conflict: Omit<DetectedConflict, 'id' | 'winner'>;
  /** Decides the winner from the state after the merge. */
  settle: () => 'ours' | 'theirs';
}

interface TableStatements {
  pkCols: string[];
  cols: string[];
  anyRow: Database.Statement;
  clock: Database.Statement;
  row: Database.Statement;
}

/**
 * Finds concurrent edits in incoming changes. Two writes to a cell are concurrent when they carry
 * the same col_version from different sites (each was made without the other), or when the local
 * write is one the delivering peer had not seen. A conflict is recorded only if the values differ.
 * Delete versus a concurrent update of the same row is a `delete_update` conflict.
 */
export class ConflictDetector {
  private readonly tables = new Map<string, TableStatements>();
  private readonly unpack: Database.Statement;
  private readonly localSite: Buffer;
  private readonly conflicts: ConflictStore;

  constructor(
    private readonly db: Db,
    private readonly ctx: ApplyContext,
  ) {
    this.unpack = stmt(db, 'SELECT cell FROM crsql_unpack_columns(?)', { pluck: true, safeIntegers: true });
    this.localSite = siteId(db);
    this.conflicts = new ConflictStore(db);
  }

  private stmts(table: string): TableStatements {
    let s = this.tables.get(table);
    if (!s) {
      const pkCols = primaryKeyColumns(this.db, table);
      const cols = tableColumns(this.db, table).map((c) => c.name);
      const where = pkCols.map((c) => `p.${quoteIdent(c)} = ?`).join(' AND ');
      const t = quoteIdent(table);
      s = {
        pkCols,
        cols,
        anyRow: this.db.prepare(`SELECT 1 FROM ${quoteIdent(`${table}__crsql_pks`)} LIMIT 1`).pluck(),
        clock: this.db
          .prepare(
            `SELECT c.col_name, c.col_version, c.db_version, s.site_id FROM ${quoteIdent(`${table}__crsql_pks`)} p
             JOIN ${quoteIdent(`${table}__crsql_clock`)} c ON c.key = p.__crsql_key
             LEFT JOIN crsql_site_id s ON s.ordinal = c.site_id WHERE ${where}`,
          )
          .raw(true)
          .safeIntegers(true),
        row: this.db
          .prepare(`SELECT * FROM ${t} p WHERE ${where}`)
          .raw(true)
          .safeIntegers(true),
      };
      this.tables.set(table, s);
    }
    return s;
  }

  private readClock(s: TableStatements, pkVals: SqlValue[]): Map<string, ClockEntry> {
    const out = new Map<string, ClockEntry>();
    for (const [name, cv, dbv, site] of s.clock.all(...pkVals) as [string, bigint, bigint, Buffer | null][]) {
      out.set(name, { cv, dbv, site: site ?? this.localSite });
    }
    return out;
  }

  private readRow(s: TableStatements, pkVals: SqlValue[]): Record<string, SqlValue> | null {
    const r = s.row.get(...pkVals) as SqlValue[] | undefined;
    if (!r) return null;
    const o: Record<string, SqlValue> = {};
    s.cols.forEach((c, i) => (o[c] = r[i] ?? null));
    return o;
  }

  /** Looks at the local state of every row the changes touch; call before applying them. */
  inspect(changes: Change[]): Candidate[] {
    // An incoming write made after both sides of an open conflict decides its cell (a
    // resolution made on another replica, or a later edit). Inside the merge transaction.
    this.conflicts.supersedeBy(changes);
    const byRow = new Map<string, Change[]>();
    const emptyTables = new Map<string, boolean>();
    for (const c of changes) {
      let empty = emptyTables.get(c[0]);
      if (empty === undefined) {
        empty = this.stmts(c[0]).anyRow.get() === undefined;
        emptyTables.set(c[0], empty);
      }
      if (empty) continue;
      const key = c[0] + '\0' + Buffer.from(c[1]).toString('hex');
      const list = byRow.get(key);
      if (list) list.push(c);
      else byRow.set(key, [c]);
    }
    const out: Candidate[] = [];
    for (const rowChanges of byRow.values()) this.inspectRow(rowChanges, out);
    return out;
  }

  private inspectRow(changes: Change[], out: Candidate[]): void {
    const [table, pk] = [changes[0]![0], changes[0]![1]];
    const s = this.stmts(table);
    const pkVals = this.unpack.all(pk) as SqlValue[];
    const clock = this.readClock(s, pkVals);
    if (clock.size === 0) return;
    const row = this.readRow(s, pkVals);
    const sentinel = clock.get('-1');
    const localCl = row ? (sentinel?.cv ?? 1n) : (sentinel?.cv ?? 0n);
    const unseen = (e: ClockEntry): boolean => !this.ctx.knownToPeer(e.dbv);
    const base = { table, pk, oursSite: null, theirsSite: null, oursColVersion: null, theirsColVersion: null };

    // The causal length after the merge decides delete_update winners (higher life wins).
    const clAfter = (): bigint => this.readClock(s, pkVals).get('-1')?.cv ?? 1n;
    // An incoming delete of the life we have, or a delete and re-insert (a higher odd length):
    // either way our row's life ended without the deleter having seen our writes in it.
    const del = changes.find((c) => c[2] === '-1' && (c[7] % 2n === 0n || row !== null) && c[7] > localCl);
    if (del && row) {
      const mine = [...clock.entries()].find(([name, e]) => name !== '-1' && !e.site.equals(del[6]) && unseen(e));
      if (mine) {
        const live = row;
        const reborn = del[7] % 2n === 1n ? cellsAt(changes, del[7]) : null;
        out.push({
          conflict: { ...base, cid: null, kind: 'delete_update', ours: live, theirs: reborn, oursSite: mine[1].site, theirsSite: Buffer.from(del[6]), oursColVersion: localCl, theirsColVersion: del[7] },
          settle: () => (clAfter() >= del[7] ? 'theirs' : 'ours'),
        });
      }
      return;
    }
    // Incoming update of an older life of a row we deleted (and maybe re-inserted since),
    // without the updater having seen the delete.
    // (Cells of that life from the deleter's own site were seen by the delete: not a loss.)
    const upd = changes.filter((c) => c[2] !== '-1' && c[7] % 2n === 1n && c[7] < localCl && !sentinel?.site.equals(c[6]));
    if (upd.length > 0 && sentinel && unseen(sentinel)) {
      out.push({
        conflict: { ...base, cid: null, kind: 'delete_update', ours: row, theirs: cellsAt(upd, upd[0]![7]), oursSite: sentinel.site, theirsSite: Buffer.from(upd[0]![6]), oursColVersion: localCl, theirsColVersion: upd[0]![7] },
        settle: () => (clAfter() > upd[0]![7] ? 'ours' : 'theirs'),
      });
    }
    if (!row) return;
    for (const c of changes) {
      const cid = c[2];
      if (cid === '-1' || c[7] !== localCl) continue;
      const local = clock.get(cid);
      if (!local || local.site.equals(c[6])) continue;
      const concurrent = local.cv === c[4] || unseen(local);
      const ours = row[cid] ?? null;
      if (!concurrent || sqlValuesEqual(ours, c[3])) continue;
      const theirsSite = Buffer.from(c[6]);
      const theirsCv = c[4];
      out.push({
        conflict: { ...base, cid, kind: 'update_update', ours, theirs: c[3], oursSite: local.site, theirsSite, oursColVersion: local.cv, theirsColVersion: theirsCv },
        settle: () => {
          const after = this.readClock(s, pkVals).get(cid);
          return after && after.site.equals(theirsSite) && after.cv === theirsCv ? 'theirs' : 'ours';
        },
      });
    }
  }

  /** Decides winners after the merge and records new conflicts (deduplicated). */
  settle(candidates: Candidate[]): DetectedConflict[] {
    const out: DetectedConflict[] = [];
    for (const cand of candidates) {
      const c = cand.conflict;
      const winner = cand.settle();
      const id = this.conflicts.record(
        { ...c, winner, ours: stringifySqlJson(jsonSide(c.ours)), theirs: stringifySqlJson(jsonSide(c.theirs)) },
        this.ctx.remote,
        this.ctx.reportedBy ?? null,
      );
      if (id !== null) out.push({ ...c, id, winner });
    }
    return out;
  }
}

/** The cell values a set of changes carries for one life of a row. */
export function cellsAt(changes: Change[], cl: bigint): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {};
  for (const c of changes) if (c[2] !== '-1' && c[7] === cl) out[c[2]] = c[3];
  return out;
}

/** A conflict side in crsync JSON form (exact types). */
export function jsonSide(v: SqlValue | Record<string, SqlValue> | null): unknown {
  if (v === null) return null;
  if (typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toJsonValue(x);
    return o;
  }
  return toJsonValue(v);
}
