import type { Change } from '../../sync/protocol/types.js';
import { cellsAt, type DetectedConflict } from '../../db/conflicts/detect.js';
import { sqlValuesEqual, type SqlValue } from '../../values.js';
import { unpackPk } from '../../db/changes/packed-pk.js';

/** One cell of a row, as merge.ts holds it in memory. */
export interface Cell {
  val: SqlValue;
  cv: bigint;
  dbv: bigint;
  seq: bigint;
  site: Buffer;
  pusher: Buffer;
  /** As stored (merge.ts rewrites it from the row's causal length when writing). */
  cl: bigint;
}

/** One row a page touches: its changes (with their seq in the page) and its cells before and after the merge. */
export interface RowMerge {
  table: string;
  pk: Buffer;
  changes: { change: Change; seq: bigint }[];
  before: Map<string, Cell>;
  after: Map<string, Cell>;
}

type Found = Omit<DetectedConflict, 'id'>;

interface Context {
  pusher: Uint8Array;
  seen: bigint;
  pkColumns: (table: string) => string[];
  columns?: (table: string) => string[];
}

/** The live row as an object: key columns and cells, in declaration order when it is known. */
function rowObject(row: RowMerge, ctx: Context): Record<string, SqlValue> {
  const values = new Map<string, SqlValue>();
  const keys = ctx.pkColumns(row.table);
  const pkVals = unpackPk(row.pk);
  keys.forEach((k, i) => values.set(k, pkVals[i] ?? null));
  for (const cid of [...row.before.keys()].sort(byBytes)) if (cid !== '-1') values.set(cid, row.before.get(cid)!.val);
  const order = ctx.columns?.(row.table) ?? [...values.keys()];
  const out: Record<string, SqlValue> = {};
  for (const k of order) if (values.has(k)) out[k] = values.get(k)!;
  return out;
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The conflicts ConflictDetector (src/db/conflicts/detect.ts) finds on a SQLite hub for the same
 * page, from each row's cells before the merge, with winners read from the cells after it.
 * Unseen by the pusher: a cell whose version is above `seen` and that another site's push brought.
 */
export function detectConflicts(rows: Iterable<RowMerge>, ctx: Context): Found[] {
  const out: Found[] = [];
  const unseen = (e: Cell): boolean => e.dbv > ctx.seen && !e.pusher.equals(ctx.pusher);
  for (const row of rows) {
    const clock = row.before;
    if (clock.size === 0) continue;
    const changes = row.changes.map((c) => c.change);
    const sentinel = clock.get('-1');
    const alive = sentinel ? sentinel.cv % 2n === 1n : true;
    const localCl = sentinel?.cv ?? 1n;
    const base = { table: row.table, pk: row.pk, oursSite: null, theirsSite: null, oursColVersion: null, theirsColVersion: null };
    const clAfter = (): bigint => row.after.get('-1')?.cv ?? 1n;

    // An incoming delete of the life we have, or a delete and re-insert (a higher odd length).
    const del = changes.find((c) => c[2] === '-1' && (c[7] % 2n === 0n || alive) && c[7] > localCl);
    if (del && alive) {
      // The clock rows of a row come in column-name order (the clock table's key).
      const mine = [...clock.keys()].sort(byBytes).find((name) => name !== '-1' && !clock.get(name)!.site.equals(del[6]) && unseen(clock.get(name)!));
      if (mine !== undefined) {
        const reborn = del[7] % 2n === 1n ? cellsAt(changes, del[7]) : null;
        out.push({
          ...base,
          cid: null,
          kind: 'delete_update',
          ours: rowObject(row, ctx),
          theirs: reborn,
          winner: clAfter() >= del[7] ? 'theirs' : 'ours',
          oursSite: clock.get(mine)!.site,
          theirsSite: Buffer.from(del[6]),
          oursColVersion: localCl,
          theirsColVersion: del[7],
        });
      }
      continue;
    }
    // An update of an older life of a row we deleted (and maybe re-inserted since), the updater not having seen the delete.
    const upd = changes.filter((c) => c[2] !== '-1' && c[7] % 2n === 1n && c[7] < localCl && !sentinel?.site.equals(c[6]));
    if (upd.length > 0 && sentinel && unseen(sentinel)) {
      const first = upd[0]!;
      out.push({
        ...base,
        cid: null,
        kind: 'delete_update',
        ours: alive ? rowObject(row, ctx) : null,
        theirs: cellsAt(upd, first[7]),
        winner: clAfter() > first[7] ? 'ours' : 'theirs',
        oursSite: sentinel.site,
        theirsSite: Buffer.from(first[6]),
        oursColVersion: localCl,
        theirsColVersion: first[7],
      });
    }
    if (!alive) continue;
    for (const c of changes) {
      const cid = c[2];
      if (cid === '-1' || c[7] !== localCl) continue;
      const local = clock.get(cid);
      if (!local || local.site.equals(c[6])) continue;
      const concurrent = local.cv === c[4] || unseen(local);
      if (!concurrent || sqlValuesEqual(local.val, c[3])) continue;
      const theirsSite = Buffer.from(c[6]);
      const after = row.after.get(cid);
      out.push({
        ...base,
        cid,
        kind: 'update_update',
        ours: local.val,
        theirs: c[3],
        winner: after && after.site.equals(theirsSite) && after.cv === c[4] ? 'theirs' : 'ours',
        oursSite: local.site,
        theirsSite,
        oursColVersion: local.cv,
        theirsColVersion: c[4],
      });
    }
  }
  return out;
}
