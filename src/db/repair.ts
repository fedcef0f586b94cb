import { MAX_CELL_CLOCK } from './changes/clock-check.js';
import { listReplicatedTables } from './schema/read.js';
import { quoteIdent, withStore } from './store.js';

/** What `crsync serve --repair` changed in one dataset. */
export interface RepairResult {
  dataset: string;
  /** db_versions renumbered (from the first jump no replica makes, to consecutive versions). */
  versionsRenumbered: number;
  /** Cell and row clocks (col_version, causal length) lowered from beyond the ceiling. */
  clocksLowered: number;
  /** The dataset's version after the repair. */
  dbVersion: string;
  /** True when clients must clone again (their cursors or clocks point past what is left). */
  cloneAgain: boolean;
}

/** A jump between consecutive versions that no replica makes (2^32 transactions at once). */
const JUMP = 2n ** 32n;

/**
 * Repairs a dataset bricked by clocks that earlier versions accepted: a db_version dragged to the
 * 2^53 ceiling (every pull then failed), or cells and rows whose clock sits at it (every later
 * edit jammed). Runs offline (the hub stopped), in one transaction:
 * - the versions from the first jump of more than 2^32 on are renumbered consecutively, in the
 *   clock tables, cr-sqlite's pre-compaction version and crsync's merge record; positions that
 *   sites have seen are capped at the new end;
 * - a col_version above the ceiling becomes 1 (the cell keeps its value), a causal length above
 *   it becomes 1 or 2 (alive or deleted, as it was).
 * Replicas that pulled the bad clocks still hold them: they must clone again (their pulls get
 * `cursor_ahead`, their pushes `bad_change`).
 */
export function repairDataset(path: string, dataset: string): RepairResult {
  return withStore(path, {}, ({ db }) =>
    db.transaction((): RepairResult => {
      const tables = listReplicatedTables(db).map((t) => quoteIdent(`${t}__crsql_clock`));
      const versions = new Set<bigint>();
      for (const t of tables) for (const v of db.prepare(`SELECT DISTINCT db_version FROM ${t}`).pluck().safeIntegers(true).all() as bigint[]) versions.add(v);
      const sorted = [...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const map = new Map<bigint, bigint>();
      let prev = 0n;
      for (const v of sorted) {
        if (map.size > 0 || v - prev > JUMP) map.set(v, prev + 1n + BigInt(map.size));
        else prev = v;
      }
      let lowered = 0;
      db.exec('CREATE TEMP TABLE IF NOT EXISTS repair_map (old INTEGER PRIMARY KEY, new INTEGER NOT NULL); DELETE FROM repair_map');
      const put = db.prepare('INSERT INTO repair_map (old, new) VALUES (?, ?)');
      for (const [o, n] of map) put.run(o, n);
      for (const t of tables) {
        if (map.size > 0) db.prepare(`UPDATE ${t} SET db_version = (SELECT new FROM repair_map WHERE old = db_version) WHERE db_version IN (SELECT old FROM repair_map)`).run();
        lowered += db.prepare(`UPDATE ${t} SET col_version = CASE WHEN col_name = '-1' THEN 2 - (col_version % 2) ELSE 1 END WHERE col_version > ?`).run(MAX_CELL_CLOCK).changes;
      }
      const top = map.size > 0 ? prev + BigInt(map.size) : prev;
      if (map.size > 0) {
        db.prepare('UPDATE crsync_applied SET db_version = (SELECT new FROM repair_map WHERE old = db_version) WHERE db_version IN (SELECT old FROM repair_map)').run();
        db.prepare("UPDATE crsql_master SET value = ? WHERE key = 'pre_compact_dbversion' AND value > ?").run(top, top);
        db.prepare('UPDATE crsync_peers SET seen_version = ? WHERE seen_version > ?').run(top, top);
      }
      db.exec('DROP TABLE repair_map');
      return { dataset, versionsRenumbered: map.size, clocksLowered: lowered, dbVersion: top.toString(), cloneAgain: map.size + lowered > 0 };
    })(),
  );
}
