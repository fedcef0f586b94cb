import pg from 'pg';
import { unpackPk } from '../../src/db/changes/packed-pk.js';
import { START } from '../../src/sync/protocol/types.js';
import type { ClockCell, Cursor, HeldSnapshot } from './crash-helpers.js';

/*
 * The crash suites' look at a dataset on a PostgreSQL hub, in the shapes crash-helpers reads
 * from SQLite files: t's cells as id/column/col_version with their place in the hub's stream,
 * t's rows, and how far a pusher's stream is committed.
 */

interface CellRow {
  pk: Buffer;
  cid: string;
  val_type: number;
  val_int: string | null;
  val_bytes: Buffer | null;
  col_version: string;
  db_version: string;
  seq: string;
}

/** One read transaction on the hub's database: t's cells and rows, and `site`'s received cursor (START when unknown). */
export async function pgHeld(url: string, dataset: string, site?: Buffer): Promise<HeldSnapshot & { exists: boolean }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    const ds = (await c.query('SELECT id FROM crsync_datasets WHERE name = $1', [dataset])).rows[0] as { id: string } | undefined;
    if (!ds) return { exists: false, at: { ...START }, cells: [], rows: [] };
    const cells = (await c.query("SELECT pk, cid, val_type, val_int::text, val_bytes, col_version::text, db_version::text, seq::text FROM crsync_cells WHERE dataset = $1 AND tbl = 't'", [ds.id])).rows as CellRow[];
    const peer = site ? ((await c.query('SELECT recv_version::text AS v, recv_seq::text AS s FROM crsync_peers WHERE dataset = $1 AND site_id = $2', [ds.id, site])).rows[0] as { v: string; s: string } | undefined) : undefined;
    await c.query('COMMIT');
    const rows = new Map<bigint, HeldSnapshot['rows'][number]>();
    const held: ClockCell[] = [];
    for (const r of cells) {
      const id = unpackPk(r.pk)[0] as bigint;
      held.push({ cell: `${id}/${r.cid}/${r.col_version}`, version: BigInt(r.db_version), seq: BigInt(r.seq) });
      const row = rows.get(id) ?? { id, name: null, qty: null };
      if (r.cid === 'name' && r.val_type === 3) row.name = r.val_bytes!.toString('utf8');
      if (r.cid === 'qty' && r.val_type === 1) row.qty = BigInt(r.val_int!);
      rows.set(id, row);
    }
    const at: Cursor = peer ? { version: BigInt(peer.v), seq: BigInt(peer.s) } : { ...START };
    return { exists: true, at, cells: held, rows: [...rows.values()] };
  } finally {
    await c.end();
  }
}

/** Polls until `check` holds (errors count as not yet: the dataset may not exist). */
export async function waitForAsync(check: () => Promise<boolean>, ms = 30_000, every = 20): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, every));
  }
}
