import type { PoolClient } from 'pg';
import { CrsyncError } from '../../errors.js';
import type { Page, WireConflict } from '../../sync/protocol/types.js';
import type { TableSchema } from '../../sync/protocol/schema.js';
import { validateChanges, tableShapes } from '../../db/changes/validate.js';
import { affinityConverter } from '../../db/affinity.js';
import { jsonSide } from '../../db/conflicts/detect.js';
import { stringifySqlJson } from '../../values.js';
import { toWireConflict } from '../../sync/endpoint.js';
import { mergePage } from './merge.js';
import { recordConflict, supersedeConflicts } from './conflicts.js';
import { notifyChange } from './listen.js';

/** Key columns of a table in key order. */
export function pkColumnsOf(tables: TableSchema[]): (table: string) => string[] {
  const byName = new Map(tables.map((t) => [t.name, t.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name)]));
  return (table) => byName.get(table) ?? [];
}

/** Locks a dataset's row for this transaction: its pushes, conflict and resolution ids go one at a time. */
export async function lockDataset(c: PoolClient, dataset: bigint): Promise<{ version: bigint; tables: TableSchema[] }> {
  const row = (await c.query('SELECT version, schema_tables FROM crsync_datasets WHERE id = $1 FOR UPDATE', [dataset])).rows[0] as { version: bigint; schema_tables: string } | undefined;
  if (!row) throw new CrsyncError('dataset_not_found', 'the dataset is gone from the store', { hint: 'check the name, or create it with `crsync push --create`' });
  return { version: row.version, tables: JSON.parse(row.schema_tables) as TableSchema[] };
}

/** One pushed page and what the push knows of its sender. */
export interface PushedPage {
  dataset: bigint;
  site: Uint8Array;
  /** The `seen` of the push's header (how far the site has pulled), if it sent one. */
  seen: bigint | undefined;
  page: Page;
}

/**
 * Applies one page in the caller's transaction, as the SQLite hub's ChangeApplier does: under
 * the dataset's row lock, the page is checked against the schema, open conflicts its writes
 * decide are superseded, the merge gives the winning changes version = counter + 1 (the counter
 * moves only when something won), new conflicts are recorded (their writer hears of them in
 * the answer), and the site's record moves (seen with a header, received with a non-empty page).
 */
export async function applyPushedPage(c: PoolClient, p: PushedPage): Promise<WireConflict[]> {
  const { version, tables } = await lockDataset(c, p.dataset);
  // SQLite binds a NaN as NULL: on a SQLite hub the merge never sees one, even to compare.
  const changes = p.page.changes.map((c) => (typeof c[3] === 'number' && Number.isNaN(c[3]) ? ([c[0], c[1], c[2], null, c[4], c[5], c[6], c[7], c[8]] as typeof c) : c));
  validateChanges(changes, tableShapes(tables));
  const peer = (await c.query('SELECT seen_version FROM crsync_peers WHERE dataset = $1 AND site_id = $2', [p.dataset, p.site])).rows[0] as { seen_version: bigint } | undefined;
  const known = peer?.seen_version ?? 0n;
  const seen = p.seen !== undefined && p.seen > known ? p.seen : known;
  await supersedeConflicts(c, p.dataset, changes);
  const merged = await mergePage(c, { dataset: p.dataset, version: version + 1n, pusher: p.site, seen, changes, pkColumns: pkColumnsOf(tables), stored: affinityConverter(tables) });
  if (merged.applied > 0) await c.query('UPDATE crsync_datasets SET version = $2 WHERE id = $1', [p.dataset, version + 1n]);
  const conflicts: WireConflict[] = [];
  for (const x of merged.conflicts) {
    const w = toWireConflict({ ...x, id: 0 }, stringifySqlJson(jsonSide(x.ours)), stringifySqlJson(jsonSide(x.theirs)));
    if ((await recordConflict(c, p.dataset, w, p.site)) !== null) conflicts.push(w);
  }
  if (p.seen !== undefined) {
    await c.query(
      `INSERT INTO crsync_peers (dataset, site_id, seen_version) VALUES ($1, $2, $3)
       ON CONFLICT (dataset, site_id) DO UPDATE SET seen_version = greatest(crsync_peers.seen_version, excluded.seen_version), last_seen = now()`,
      [p.dataset, p.site, p.seen],
    );
  }
  // A page moves the record only as far as changes it carries: an empty page's cursor (an honest
  // sender's last page, or someone claiming the site's id) moves nothing.
  if (changes.length > 0) {
    await c.query(
      `INSERT INTO crsync_peers (dataset, site_id, recv_version, recv_seq) VALUES ($1, $2, $3, $4)
       ON CONFLICT (dataset, site_id) DO UPDATE SET recv_version = excluded.recv_version, recv_seq = excluded.recv_seq, last_seen = now()
       WHERE excluded.recv_version > crsync_peers.recv_version OR (excluded.recv_version = crsync_peers.recv_version AND excluded.recv_seq > crsync_peers.recv_seq)`,
      [p.dataset, p.site, p.page.cursor.version, p.page.cursor.seq],
    );
  }
  if (merged.applied > 0 || conflicts.length > 0) await notifyChange(c, p.dataset);
  return conflicts;
}
