import type { ClientBase } from 'pg';
import type { Change, WireConflict, WireResolution } from '../../sync/protocol/types.js';
import { flipConflict, fromRow, type ConflictRow } from '../../db/conflicts/store.js';
import { pairOf, resolutionLabel } from '../../db/conflicts/pair.js';
import { MAX_CONFLICTS_PER_FRAME } from '../../sync/protocol/shape.js';
import { same } from './sql.js';

/*
 * A dataset's conflicts in PostgreSQL, as src/db/conflicts/store.ts keeps them in a replica:
 * recorded once per pair of writes, closed at once when a resolution of the pair was heard of,
 * superseded by a later write to their cell. Ids count per dataset; a caller that records holds
 * the dataset's row lock (ids commit in order, so a reader after id n never misses one).
 */

const COLS = 'id, tbl, pk, cid, kind, ours, theirs, winner, ours_site, theirs_site, ours_col_version, theirs_col_version';

const FIND_SAME = `SELECT id FROM crsync_conflicts WHERE dataset = $1 AND tbl = $2 AND pk = $3 AND ${same('cid', '$4')}
  AND ${same('ours_col_version', '$5')} AND ${same('theirs_col_version', '$6')} AND kind = $7 AND ${same('ours_site', '$8')} AND ${same('theirs_site', '$9')} LIMIT 1`;

const FIND_SAME_LIVES = `SELECT id FROM crsync_conflicts WHERE dataset = $1 AND tbl = $2 AND pk = $3 AND cid IS NULL
  AND ${same('ours_col_version', '$4')} AND ${same('theirs_col_version', '$5')} AND kind = 'delete_update' LIMIT 1`;

/** The next conflict id of a dataset (call under its row lock). */
async function nextId(c: ClientBase, dataset: bigint): Promise<bigint> {
  return (await c.query('SELECT coalesce(max(id), 0) + 1 AS id FROM crsync_conflicts WHERE dataset = $1', [dataset])).rows[0].id as bigint;
}

/** Records a conflict; its id, or null when that pair of writes is recorded already. */
export async function recordConflict(c: ClientBase, dataset: bigint, x: WireConflict, reportedBy: Uint8Array | null): Promise<bigint | null> {
  const found =
    x.kind === 'delete_update'
      ? (await c.query(FIND_SAME_LIVES, [dataset, x.table, x.pk, x.oursColVersion, x.theirsColVersion])).rows[0] ??
        (await c.query(FIND_SAME_LIVES, [dataset, x.table, x.pk, x.theirsColVersion, x.oursColVersion])).rows[0]
      : (await c.query(FIND_SAME, [dataset, x.table, x.pk, x.cid, x.oursColVersion, x.theirsColVersion, x.kind, x.oursSite, x.theirsSite])).rows[0] ??
        (await c.query(FIND_SAME, [dataset, x.table, x.pk, x.cid, x.theirsColVersion, x.oursColVersion, x.kind, x.theirsSite, x.oursSite])).rows[0];
  if (found) return null;
  const id = await nextId(c, dataset);
  await c.query(
    `INSERT INTO crsync_conflicts (dataset, id, tbl, pk, cid, kind, ours, theirs, winner, ours_site, theirs_site, ours_col_version, theirs_col_version, detected_at, reported_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [dataset, id, x.table, x.pk, x.cid, x.kind, x.ours, x.theirs, x.winner, x.oursSite, x.theirsSite, x.oursColVersion, x.theirsColVersion, new Date().toISOString(), reportedBy],
  );
  if (!(await closeIfResolved(c, dataset, id, x))) await closeIfDecided(c, dataset, id, x);
  return id;
}

/**
 * A copy that arrives after a later write decided its cell here is closed at once (the SQLite
 * store's ConflictStore.closeIfDecided): a hub records a pushed conflict report after the
 * push's pages, which may carry that write.
 */
async function closeIfDecided(c: ClientBase, dataset: bigint, id: bigint, x: WireConflict): Promise<void> {
  if (x.oursColVersion === null || x.theirsColVersion === null) return;
  const cid = x.kind === 'delete_update' ? '-1' : (x.cid ?? '-1');
  const both = x.oursColVersion > x.theirsColVersion ? x.oursColVersion : x.theirsColVersion;
  await c.query(
    `UPDATE crsync_conflicts SET resolved_at = $3, resolution = 'superseded' WHERE dataset = $1 AND id = $2 AND resolved_at IS NULL
     AND EXISTS (SELECT 1 FROM crsync_cells WHERE dataset = $1 AND tbl = $4 AND pk = $5 AND cid = $6 AND col_version > $7)`,
    [dataset, id, new Date().toISOString(), x.table, x.pk, cid, both],
  );
}

/** A copy that arrives after a resolution of its pair was heard of is closed at once; true when it was. */
async function closeIfResolved(c: ClientBase, dataset: bigint, id: bigint, x: WireConflict): Promise<boolean> {
  const p = pairOf(x);
  if (!p) return false;
  const r = (
    await c.query(
      `SELECT choice, resolver, at FROM crsync_resolutions WHERE dataset = $1 AND tbl = $2 AND pk = $3 AND cid = $4 AND kind = $5
       AND a_site = $6 AND a_version = $7 AND b_site = $8 AND b_version = $9 ORDER BY id DESC LIMIT 1`,
      [dataset, p.table, p.pk, p.cid, p.kind, p.aSite, p.aVersion, p.bSite, p.bVersion],
    )
  ).rows[0] as { choice: WireResolution['choice']; resolver: Buffer; at: string } | undefined;
  if (r) await markResolved(c, dataset, id, r.at, resolutionLabel(r.choice, x.winner), r.resolver);
  return r !== undefined;
}

/** Closes one open conflict with a resolution's label. */
export async function markResolved(c: ClientBase, dataset: bigint, id: bigint, at: string, label: string, by: Uint8Array | null): Promise<void> {
  await c.query('UPDATE crsync_conflicts SET resolved_at = $3, resolution = $4, resolved_by = $5 WHERE dataset = $1 AND id = $2 AND resolved_at IS NULL', [dataset, id, at, label, by]);
}

/**
 * Conflicts recorded after `afterId` (a frame's worth at most) in which `site` wrote the losing
 * side, seen from that site, leaving out those it reported or was answered with already.
 */
export async function conflictsForSite(c: ClientBase, dataset: bigint, site: Uint8Array, afterId: bigint): Promise<{ conflicts: WireConflict[]; lastId: bigint }> {
  const rows = (
    await c.query(
      `SELECT ${COLS} FROM crsync_conflicts WHERE dataset = $1 AND id > $2
       AND ((ours_site = $3 AND winner = 'theirs') OR (theirs_site = $3 AND winner = 'ours'))
       AND (reported_by IS NULL OR reported_by <> $3) ORDER BY id LIMIT ${MAX_CONFLICTS_PER_FRAME}`,
      [dataset, afterId, site],
    )
  ).rows as ConflictRow[];
  const conflicts = rows.map((r) => (r.ours_site && Buffer.from(site).equals(r.ours_site) ? fromRow(r) : flipConflict(fromRow(r))));
  const lastId = rows.length === MAX_CONFLICTS_PER_FRAME ? rows[rows.length - 1]!.id : await maxConflictId(c, dataset);
  return { conflicts, lastId };
}

/** The dataset's newest conflict id (0 when none). */
export async function maxConflictId(c: ClientBase, dataset: bigint): Promise<bigint> {
  return (await c.query('SELECT coalesce(max(id), 0) AS id FROM crsync_conflicts WHERE dataset = $1', [dataset])).rows[0].id as bigint;
}

/**
 * Marks the open conflicts superseded whose cell an incoming change decides: its col_version
 * (causal length for a row) is above both conflicting writes (src/db/conflicts/detect.ts
 * `supersede`). Runs in the page's transaction, before its merge.
 */
export async function supersedeConflicts(c: ClientBase, dataset: bigint, changes: Change[]): Promise<void> {
  const open = await c.query('SELECT 1 FROM crsync_conflicts WHERE dataset = $1 AND resolved_at IS NULL LIMIT 1', [dataset]);
  if (open.rowCount === 0) return;
  const ids = new Set<bigint>();
  for (const ch of changes) {
    const version = ch[2] === '-1' ? ch[7] : ch[4];
    const rows = (
      await c.query(
        `SELECT id, greatest(coalesce(ours_col_version, 0), coalesce(theirs_col_version, 0)) AS cv FROM crsync_conflicts
         WHERE dataset = $1 AND tbl = $2 AND pk = $3 AND ${same('cid', '$4')} AND resolved_at IS NULL`,
        [dataset, ch[0], ch[1], ch[2] === '-1' ? null : ch[2]],
      )
    ).rows as { id: bigint; cv: bigint }[];
    for (const r of rows) if (version > r.cv) ids.add(r.id);
  }
  if (ids.size === 0) return;
  await c.query("UPDATE crsync_conflicts SET resolved_at = $3, resolution = 'superseded' WHERE dataset = $1 AND id = ANY($2::bigint[]) AND resolved_at IS NULL", [
    dataset, [...ids].map(String), new Date().toISOString(),
  ]);
}
