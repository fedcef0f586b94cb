import type { Pool } from 'pg';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CrsyncError } from '../../errors.js';
import { ReportedConflictCheck } from '../../db/conflicts/check.js';
import { additionsOf } from '../../db/schema/apply.js';
import { planSchemaChange } from '../../db/schema/plan.js';
import { cursorToJson } from '../../sync/protocol/codec.js';
import { FEATURES, PROTOCOL_VERSION, START, type Cursor, type DatasetInfo, type Page, type PushResponse, type SchemaRequest, type WireConflict, type WireResolution } from '../../sync/protocol/types.js';
import type { ReplicatedSchema, TableSchema } from '../../sync/protocol/schema.js';
import type { ConflictsForSite, Dataset, PageStream, SnapshotMade } from '../dataset-store.js';
import { conflictsForSite, maxConflictId, recordConflict } from './conflicts.js';
import { receiveResolutions, resolutionsAfter } from './resolutions.js';
import { notifyChange } from './listen.js';
import { applyPushedPage, lockDataset } from './push.js';
import { PgPages } from './pull.js';
import { countAfter } from './stream.js';
import { connect, inTransaction, query, storeError } from './pool.js';
import type { ChangeListener } from './listen.js';
import { runSnapshotJob } from '../snapshot-jobs.js';

/** What a request needs to find a dataset's rows: its id and the hub site id it was given. */
export interface DatasetRef {
  id: bigint;
  name: string;
  site: Buffer;
}

interface DatasetRow {
  version: bigint;
  schema_tables: string;
  schema_version: number;
  schema_hash: string;
  recv_version: bigint | null;
  recv_seq: bigint | null;
  last_seen: Date | null;
}

/** One dataset of the PostgreSQL store, as one request sees it (src/server/dataset-store.ts). */
export class PgDataset implements Dataset {
  private released = false;

  constructor(
    private readonly pool: Pool,
    private readonly listener: ChangeListener,
    private readonly ref: DatasetRef,
    private readonly url: string,
  ) {}

  get name(): string {
    return this.ref.name;
  }

  private get id(): bigint {
    if (this.released) throw new Error(`dataset ${this.name} used after its handle was closed`);
    return this.ref.id;
  }

  private async row(site?: Uint8Array): Promise<DatasetRow> {
    const rows = await query<DatasetRow>(
      this.pool,
      `SELECT d.version, d.schema_tables, d.schema_version, d.schema_hash, p.recv_version, p.recv_seq, p.last_seen FROM crsync_datasets d
       LEFT JOIN crsync_peers p ON p.dataset = d.id AND p.site_id = $2 WHERE d.id = $1`,
      [this.id, site ?? Buffer.alloc(0)],
    );
    return rows[0]!;
  }

  private schemaOf(r: DatasetRow): ReplicatedSchema {
    return { version: r.schema_version, hash: r.schema_hash, tables: JSON.parse(r.schema_tables) as TableSchema[] };
  }

  async info(site?: Uint8Array): Promise<DatasetInfo> {
    const r = await this.row(site);
    // Keys in the SQLite hub's order: the two answer byte for byte alike.
    const info: DatasetInfo = {
      protocol: PROTOCOL_VERSION,
      dataset: this.name,
      siteId: this.ref.site.toString('hex'),
      dbVersion: r.version.toString(),
      schema: this.schemaOf(r),
      features: [...FEATURES],
    };
    if (site) {
      info.received = cursorToJson(r.recv_version === null ? START : { version: r.recv_version, seq: r.recv_seq! });
      // When a push of this site last moved its record (status reads it after a cut push).
      if (r.last_seen !== null) info.receivedAt = r.last_seen.toISOString();
    }
    return info;
  }

  /** The SQLite hub's refusal of a position past the dataset's end (src/sync/endpoint.ts checkNotAhead). */
  private checkNotAhead(version: bigint, what: string, ours: bigint): void {
    if (version > ours) {
      throw new CrsyncError('cursor_ahead', `${what}=${version} is beyond the end of dataset ${this.name} (version ${ours})`, {
        hint: 'the replica remembers a later version than this dataset has: it was restored from an older copy or the cursor is forged; clone it again',
        details: { dbVersion: ours.toString() },
      });
    }
  }

  async pull(site: Uint8Array, since: Cursor, pageSize: number): Promise<PageStream> {
    const id = this.id;
    const c = await connect(this.pool);
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // Pages walk the stream index in order whatever the statistics say: before autovacuum has
      // analyzed a freshly filled dataset, the planner thinks few cells follow the cursor and
      // scans and sorts all of them for every page (~1 s a page at 1M cells instead of ~1 ms).
      await c.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
      const newest = (await c.query('SELECT version FROM crsync_datasets WHERE id = $1', [id])).rows[0].version as bigint;
      this.checkNotAhead(since.version, 'since', newest);
      return new PgPages(c, id, since, site, pageSize, newest);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      c.release(err instanceof CrsyncError ? undefined : (err as Error));
      throw storeError(err);
    }
  }

  async countPending(site: Uint8Array, since: Cursor): Promise<number> {
    const id = this.id;
    return inTransaction(
      this.pool,
      async (c) => {
        const newest = (await c.query('SELECT version FROM crsync_datasets WHERE id = $1', [id])).rows[0].version as bigint;
        this.checkNotAhead(since.version, 'since', newest);
        return countAfter(c, id, since, site);
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  async push(site: Uint8Array, seen: bigint | undefined, pages: AsyncIterable<Page>): Promise<PushResponse> {
    const id = this.id;
    if (Buffer.from(site).equals(this.ref.site)) {
      throw new CrsyncError('same_site', 'a replica cannot sync with itself (same site id)', {
        hint: 'a copied database file shares its site id; use `crsync clone` to make a new replica',
      });
    }
    const start = await this.row(site);
    if (seen !== undefined) this.checkNotAhead(seen, 'seen', start.version);
    let cursor = cursorToJson(start.recv_version === null ? START : { version: start.recv_version, seq: start.recv_seq! });
    let received = 0;
    let count = 0;
    const conflicts: WireConflict[] = [];
    for await (const page of pages) {
      // One transaction per page: a cut push keeps the pages before, with their cursor.
      conflicts.push(...(await inTransaction(this.pool, (c) => applyPushedPage(c, { dataset: id, site, seen, page }))));
      received += page.changes.length;
      count++;
      cursor = cursorToJson(page.cursor);
      await yieldToLoop();
    }
    return { received, pages: count, cursor, conflicts };
  }

  async applySchema(req: SchemaRequest, source: string): Promise<string[]> {
    const id = this.id;
    return inTransaction(this.pool, async (c) => {
      await lockDataset(c, id);
      const r = (await c.query('SELECT schema_tables, schema_version, schema_hash FROM crsync_datasets WHERE id = $1', [id])).rows[0] as DatasetRow;
      const current = this.schemaOf(r);
      // The common case (the schema is there already) needs no scratch replica.
      const extras = additionsOf(req, current.tables);
      if (extras.tables.length + extras.columns.length === 0) return [];
      const plan = planSchemaChange(current, req, source);
      await c.query('UPDATE crsync_datasets SET schema_tables = $2, schema_version = $3, schema_hash = $4 WHERE id = $1', [
        id, JSON.stringify(plan.schema.tables), plan.schema.version, plan.schema.hash,
      ]);
      await notifyChange(c, id);
      return plan.applied;
    });
  }

  async conflictsFor(site: Uint8Array, afterId: bigint): Promise<ConflictsForSite> {
    const id = this.id;
    return inTransaction(this.pool, (c) => conflictsForSite(c, id, site, afterId), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async waitForChange(since: Cursor, conflictsAfter: bigint | undefined, ms: number, signal: AbortSignal): Promise<boolean> {
    const id = this.id;
    return this.listener.wait(id, ms, signal, async () => {
      const r = (await query<{ version: bigint }>(
        this.pool,
        'SELECT version FROM crsync_datasets WHERE id = $1',
        [id],
      ))[0]!;
      if (r.version > since.version) return true;
      return conflictsAfter !== undefined && (await inTransaction(this.pool, (c) => maxConflictId(c, id))) > conflictsAfter;
    });
  }

  async recordReported(site: Uint8Array, conflicts: WireConflict[]): Promise<{ added: number; refused: number }> {
    const id = this.id;
    return inTransaction(this.pool, async (c) => {
      const { tables } = await lockDataset(c, id);
      const check = new ReportedConflictCheck(tables);
      let added = 0;
      let refused = 0;
      for (const x of conflicts) {
        if (check.problem(x) !== null) refused++;
        else if ((await recordConflict(c, id, x, site)) !== null) added++;
      }
      if (added > 0) await notifyChange(c, id);
      return { added, refused };
    });
  }

  async resolutionsFor(site: Uint8Array, afterId: bigint): Promise<{ resolutions: WireResolution[]; lastId: bigint }> {
    const id = this.id;
    return inTransaction(this.pool, (c) => resolutionsAfter(c, id, afterId, site), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async recordResolutions(site: Uint8Array, resolutions: WireResolution[]): Promise<void> {
    const id = this.id;
    await inTransaction(this.pool, async (c) => {
      const { tables } = await lockDataset(c, id);
      const names = new Set(tables.map((t) => t.name));
      await receiveResolutions(c, id, this.ref.site, resolutions.filter((r) => names.has(r.table)), site);
      await notifyChange(c, id);
    });
  }

  async claimSite(site: Uint8Array, owner: Uint8Array): Promise<boolean> {
    const id = this.id;
    await query(this.pool, 'INSERT INTO crsync_site_owners (dataset, site_id, owner) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, site, owner]);
    const rows = await query<{ owner: Buffer }>(this.pool, 'SELECT owner FROM crsync_site_owners WHERE dataset = $1 AND site_id = $2', [id, site]);
    return rows[0] !== undefined && Buffer.from(owner).equals(rows[0].owner);
  }

  async snapshot(dest: string): Promise<SnapshotMade> {
    // In the worker, on a connection of its own: one REPEATABLE READ transaction over every cell.
    return runSnapshotJob({ type: 'pg-copy', url: this.url, dataset: this.id, dest });
  }

  async close(): Promise<void> {
    this.released = true;
  }
}
