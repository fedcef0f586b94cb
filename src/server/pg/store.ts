import type { Pool } from 'pg';
import { randomUUID } from 'node:crypto';
import { CrsyncError } from '../../errors.js';
import { schemaHash } from '../../sync/protocol/schema.js';
import { rmSync } from 'node:fs';
import type { Dataset, DatasetStore, SnapshotAdopted, SnapshotUpload } from '../dataset-store.js';
import { runSnapshotJob } from '../snapshot-jobs.js';
import { checkDatasetName } from '../request.js';
import { ensureStoreTables } from './ddl.js';
import { ChangeListener } from './listen.js';
import { PgDataset, type DatasetRef } from './dataset.js';
import { DEFAULT_STORE_POOL } from '../limits.js';
import { connectClient, createPool, query, redactUrl } from './pool.js';

export { redactUrl };

/** Options of the PostgreSQL store (`crsync serve --store`). */
export interface PgStoreOptions {
  /** postgres://user@host:port/db */
  url: string;
  /** Connections of this hub process (default DEFAULT_STORE_POOL); each pull in flight holds one. */
  poolSize?: number;
  /** Where the store reports what it survived (a dropped connection). */
  log?: (line: string) => void;
}

/**
 * Every dataset in one PostgreSQL database (src/server/pg/ddl.ts): any number of hub processes
 * may serve the same database at once. Nothing is cached per dataset but its id and site id,
 * which never change; every request reads the rows as they are, so another process's commits
 * are seen at once.
 */
export class PgDatasetStore implements DatasetStore {
  private readonly refs = new Map<string, DatasetRef>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly listener: ChangeListener,
    /** Where the snapshot worker connects on its own (it reads or loads a whole dataset off the hub's loop). */
    private readonly url: string,
  ) {}

  async open(name: string, options: { create: boolean }): Promise<Dataset> {
    if (this.closed) throw new CrsyncError('shutting_down', 'the hub is shutting down', { hint: 'try again once it is back' });
    checkDatasetName(name);
    let ref = this.refs.get(name) ?? (await this.find(name));
    if (!ref && options.create) {
      // Two hubs creating one dataset at once: the name is unique, the second finds the first's row.
      const site = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
      await query(this.pool, 'INSERT INTO crsync_datasets (name, site_id, schema_hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, site, schemaHash([])]);
      ref = await this.find(name);
    }
    if (!ref) {
      throw new CrsyncError('dataset_not_found', `no dataset named ${name} on this hub`, { hint: 'check the name, or create it with `crsync push --create`' });
    }
    this.refs.set(name, ref);
    return new PgDataset(this.pool, this.listener, ref, this.url);
  }

  private async find(name: string): Promise<DatasetRef | undefined> {
    const r = (await query<{ id: bigint; site_id: Buffer }>(this.pool, 'SELECT id, site_id FROM crsync_datasets WHERE name = $1', [name]))[0];
    return r ? { id: r.id, name, site: r.site_id } : undefined;
  }

  /** Every dataset with the bytes its cells take (PostgreSQL's own count of their rows' sizes). */
  async list(): Promise<{ name: string; bytes: number }[]> {
    const rows = await query<{ name: string; bytes: bigint }>(
      this.pool,
      `SELECT d.name, coalesce((SELECT sum(pg_column_size(c.*)) FROM crsync_cells c WHERE c.dataset = d.id), 0)::bigint AS bytes
       FROM crsync_datasets d ORDER BY d.name COLLATE "C"`,
    );
    return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
  }

  async exists(name: string): Promise<boolean> {
    if (this.refs.has(name)) return true;
    return (await this.find(name)) !== undefined;
  }

  async adoptSnapshot(name: string, file: string, upload: SnapshotUpload): Promise<SnapshotAdopted> {
    checkDatasetName(name);
    try {
      // In the worker: checking the file, reading its cells and loading them take seconds.
      const made = await runSnapshotJob({ type: 'pg-adopt', url: this.url, name, path: file, ...upload });
      return { ...made, replaced: made.replaced === true };
    } finally {
      rmSync(file, { force: true });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    await this.pool.end();
  }
}

/**
 * Connects to PostgreSQL and readies the store: crsync's tables made or checked (a database of
 * another store version, or tampered with, is refused), and the listening connection for live
 * pulls. PostgreSQL that cannot be reached is store_unreachable (exit 3): the hub does not start.
 */
export async function openPgStore(options: PgStoreOptions): Promise<PgDatasetStore> {
  const log = options.log ?? (() => {});
  const pool = await createPool(options.url, options.poolSize ?? DEFAULT_STORE_POOL, (err) => log(`PostgreSQL store: an idle connection failed: ${err.message}`));
  try {
    await ensureStoreTables(pool, options.url);
    const listener = new ChangeListener(() => connectClient(options.url), log);
    await listener.start();
    return new PgDatasetStore(pool, listener, options.url);
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof CrsyncError) throw err;
    throw new CrsyncError('store_unreachable', `cannot reach PostgreSQL at ${redactUrl(options.url)}: ${(err as Error).message}`, {
      hint: 'check that the server runs and the URL (user, host, port, database) is right',
      cause: err,
    });
  }
}
