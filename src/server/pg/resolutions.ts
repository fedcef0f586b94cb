import type { ClientBase } from 'pg';
import type { WireResolution } from '../../sync/protocol/types.js';
import { MATCH_PAIR, pairArgs, pairOfWire, resolutionLabel, type WritePair } from '../../db/conflicts/pair.js';
import { toWire, type ResolutionRow } from '../../db/conflicts/resolutions.js';
import { markResolved, recordConflict } from './conflicts.js';
import { numbered } from './sql.js';

/*
 * A dataset's resolutions in PostgreSQL, as src/db/conflicts/resolutions.ts keeps them on the
 * SQLite hub: each recorded once per resolving site, closing the dataset's open copies of its
 * conflict, relayed to every site that neither made nor delivered it. Ids count per dataset,
 * assigned under the dataset's row lock.
 */

/** Most resolutions one pull carries; the cursor resumes after the last one sent. */
const BATCH = 1000;

const OPEN_COPIES = `SELECT id, winner FROM crsync_conflicts WHERE dataset = $1 AND ${numbered(MATCH_PAIR, 2)} AND resolved_at IS NULL`;
const ANY_COPY = `SELECT 1 FROM crsync_conflicts WHERE dataset = $1 AND ${numbered(MATCH_PAIR, 2)} LIMIT 1`;

interface Write {
  site: Buffer;
  version: bigint;
  value: string;
}

/** The (site, col_version) of the write that holds a cell now, or null (no such row or cell). */
async function cellWrite(c: ClientBase, dataset: bigint, table: string, pk: Buffer, cid: string): Promise<{ site: Buffer; version: bigint } | null> {
  const r = (await c.query('SELECT site_id, col_version FROM crsync_cells WHERE dataset = $1 AND tbl = $2 AND pk = $3 AND cid = $4', [dataset, table, pk, cid])).rows[0] as
    | { site_id: Buffer; col_version: bigint }
    | undefined;
  return r ? { site: r.site_id, version: BigInt(r.col_version) } : null;
}

/**
 * Applies resolutions a site pushed: records each once, closes the open copies of its conflict,
 * and records two sites' different written resolutions of one pair as a conflict of their own.
 * Call in a transaction that holds the dataset's row lock.
 */
export async function receiveResolutions(c: ClientBase, dataset: bigint, hubSite: Buffer, list: WireResolution[], fromSite: Uint8Array): Promise<void> {
  for (const r of list) {
    const pair = pairOfWire(r);
    const id = (await c.query('SELECT coalesce(max(id), 0) + 1 AS id FROM crsync_resolutions WHERE dataset = $1', [dataset])).rows[0].id as bigint;
    const inserted = await c.query(
      `INSERT INTO crsync_resolutions (dataset, id, tbl, pk, cid, kind, a_site, a_version, b_site, b_version, choice, value, resolver, written_version, at, from_site)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING`,
      [dataset, id, pair.table, pair.pk, pair.cid, pair.kind, pair.aSite, pair.aVersion, pair.bSite, pair.bVersion, r.choice, r.value, r.resolver, r.writtenVersion, r.at, fromSite],
    );
    if (inserted.rowCount === 0) continue;
    for (const o of (await c.query(OPEN_COPIES, [dataset, ...pairArgs(pair)])).rows as { id: bigint; winner: 'ours' | 'theirs' }[]) {
      await markResolved(c, dataset, o.id, r.at, resolutionLabel(r.choice, o.winner), r.resolver);
    }
    if (r.writtenVersion !== null && r.kind === 'update_update' && ((await c.query(ANY_COPY, [dataset, ...pairArgs(pair)])).rowCount ?? 0) > 0) {
      await concurrent(c, dataset, hubSite, pair, r);
    }
  }
}

/** Records the conflicts between `r`'s write and other sites' written resolutions of its pair. */
async function concurrent(c: ClientBase, dataset: bigint, hubSite: Buffer, pair: WritePair, r: WireResolution): Promise<void> {
  const rows = (
    await c.query(
      `SELECT * FROM crsync_resolutions WHERE dataset = $1 AND tbl = $2 AND pk = $3 AND cid = $4 AND kind = $5 AND a_site = $6 AND a_version = $7
       AND b_site = $8 AND b_version = $9 AND resolver <> $10 AND written_version IS NOT NULL`,
      [dataset, pair.table, pair.pk, pair.cid, pair.kind, pair.aSite, pair.aVersion, pair.bSite, pair.bVersion, r.resolver],
    )
  ).rows as ResolutionRow[];
  for (const o of rows) {
    if (o.value === r.value) continue;
    const now = await cellWrite(c, dataset, pair.table, pair.pk, pair.cid);
    const x: Write = { site: Buffer.from(r.resolver), version: r.writtenVersion!, value: r.value };
    const y: Write = { site: o.resolver, version: o.written_version!, value: o.value };
    const holds = (w: Write): boolean => now !== null && now.site.equals(w.site) && now.version === w.version;
    // A later write has decided the cell already: the two resolutions are not open any more.
    if (!holds(x) && !holds(y)) continue;
    const ours = x.site.equals(hubSite) || (!y.site.equals(hubSite) && holds(x)) ? x : y;
    const theirs = ours === x ? y : x;
    await recordConflict(
      c,
      dataset,
      {
        table: pair.table, pk: pair.pk, cid: pair.cid, kind: 'update_update', ours: ours.value, theirs: theirs.value,
        winner: holds(ours) ? 'ours' : 'theirs', oursSite: ours.site, theirsSite: theirs.site, oursColVersion: ours.version, theirsColVersion: theirs.version,
      },
      null,
    );
  }
}

/** Resolutions after `afterId` for `site` (not delivered nor made by it), a batch at most, and the id to resume after. */
export async function resolutionsAfter(c: ClientBase, dataset: bigint, afterId: bigint, site: Uint8Array): Promise<{ resolutions: WireResolution[]; lastId: bigint }> {
  const rows = (
    await c.query(
      `SELECT * FROM crsync_resolutions WHERE dataset = $1 AND id > $2 AND (from_site IS NULL OR from_site <> $3) AND resolver <> $3 ORDER BY id LIMIT ${BATCH}`,
      [dataset, afterId, site],
    )
  ).rows as ResolutionRow[];
  const max = rows.length === BATCH ? rows[rows.length - 1]!.id : ((await c.query('SELECT coalesce(max(id), 0) AS id FROM crsync_resolutions WHERE dataset = $1', [dataset])).rows[0].id as bigint);
  return { resolutions: rows.map(toWire), lastId: max > afterId ? max : afterId };
}
