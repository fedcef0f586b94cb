import { existsSync, linkSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CrsyncError } from '../errors.js';
import { openStore, type Store } from '../db/store.js';
import { claimSite } from '../db/state/site-owners.js';
import { jsonSide } from '../db/conflicts/detect.js';
import { notEmpty, replaceProblem } from '../db/snapshot-upload.js';
import { stringifySqlJson } from '../values.js';
import { ServedReplica, toWireConflict } from '../sync/endpoint.js';
import { cursorToJson } from '../sync/protocol/codec.js';
import type { Cursor, DatasetInfo, Page, PushResponse, SchemaRequest, WireConflict, WireResolution } from '../sync/protocol/types.js';
import type { ConflictsForSite, Dataset, DatasetStore, PageStream, SnapshotAdopted, SnapshotMade, SnapshotUpload } from './dataset-store.js';
import { DATASET_NAME, badRequest, checkDatasetName } from './request.js';
import { Counter } from './counter.js';
import { ChangeNotifier } from './notifier.js';
import { runSnapshotJob } from './snapshot-jobs.js';
import { ReaderPages } from './reader-pages.js';
import { HeadPages } from './head-pages.js';

/** How long a dataset stays open with no request in flight (`crsync serve --dataset-idle`). */
export const DEFAULT_DATASET_IDLE_MS = 60_000;

/** Reader connections kept open per dataset between pulls; more pulls at once open more, closed after. */
const IDLE_READERS = 4;

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /** Folder of the dataset files (`<name>.db`). */
  dir: string;
  /** Close a dataset's connections after this long without a request in flight. */
  idleMs?: number;
}

/**
 * Datasets as cr-sqlite files in one folder. Per open dataset: one writing connection (with the
 * one applier and conflict detector, and the schema, cached until the schema changes), a few
 * reader connections for pulls, and a connection in the count worker. A dataset no request has
 * used for `idleMs` is closed (every connection finalized); the next request opens it again.
 */
export class SqliteDatasetStore implements DatasetStore {
  private readonly datasets = new Map<string, OpenDataset>();
  /** Datasets whose file is being replaced by an upload: opening them waits for it. */
  private readonly replacing = new Map<string, Promise<void>>();
  private readonly counter = new Counter();
  private readonly dir: string;
  private readonly idleMs: number;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.dir = resolve(options.dir);
    this.idleMs = options.idleMs ?? DEFAULT_DATASET_IDLE_MS;
  }

  async open(name: string, options: { create: boolean }): Promise<Dataset> {
    if (this.closed) throw new CrsyncError('shutting_down', 'the hub is shutting down', { hint: 'try again once it is back' });
    await this.replacing.get(name);
    let d = this.datasets.get(name);
    if (!d) {
      const path = this.pathOf(name);
      if (!options.create && !existsSync(path)) {
        throw new CrsyncError('dataset_not_found', `no dataset named ${name} on this hub`, { hint: 'check the name, or create it with `crsync push --create`' });
      }
      const opened: OpenDataset = new OpenDataset(new ServedReplica(openStore(path, { create: options.create }), name), this.counter, () => {
        if (this.datasets.get(name) === opened) this.datasets.delete(name);
      });
      d = opened;
      this.datasets.set(name, d);
    }
    d.acquire();
    return new SqliteDataset(d, this.idleMs);
  }

  async list(): Promise<{ name: string; bytes: number }[]> {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.db') && DATASET_NAME.test(f.slice(0, -3)))
      .sort()
      .map((f) => ({ name: f.slice(0, -3), bytes: statSync(join(this.dir, f)).size }));
  }

  async exists(name: string): Promise<boolean> {
    return this.datasets.has(name) || existsSync(this.pathOf(name));
  }

  async adoptSnapshot(name: string, file: string, upload: SnapshotUpload): Promise<SnapshotAdopted> {
    const path = this.pathOf(name);
    try {
      const made = await runSnapshotJob({ type: 'adopt', path: file, ...upload });
      if (!existsSync(path) && !this.datasets.has(name)) {
        // A link fails when the name was taken meanwhile (a schema request made the dataset).
        try {
          linkSync(file, path);
          return { ...made, replaced: false };
        } catch (err) {
          if ((err as { code?: string }).code !== 'EEXIST') throw err;
        }
      }
      await this.replaceEmpty(name, path, file);
      return { ...made, replaced: true };
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Replaces an existing dataset with no change yet by `file`, while no request uses it. */
  private async replaceEmpty(name: string, path: string, file: string): Promise<void> {
    let done = (): void => {};
    this.replacing.set(name, new Promise<void>((r) => (done = r)));
    try {
      const d = this.datasets.get(name);
      if (d?.inUse) throw notEmpty(name, 'it is in use');
      const check = d ? d.served.store : openStore(path);
      try {
        const why = replaceProblem(check.db, file);
        if (why) throw notEmpty(name, why);
      } finally {
        if (d) d.close();
        else check.close();
      }
      // The count worker's connection too: nothing may hold the old file (or its WAL) when it goes.
      await this.counter.forget(path);
      renameSync(file, path);
    } finally {
      this.replacing.delete(name);
      done();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const d of this.datasets.values()) d.close();
    this.datasets.clear();
    await this.counter.close();
  }

  private pathOf(name: string): string {
    checkDatasetName(name);
    const p = resolve(join(this.dir, `${name}.db`));
    if (!p.startsWith(this.dir + sep)) throw badRequest('dataset name escapes the hub folder');
    return p;
  }
}

/** One open dataset: its connections, and how many requests use it. */
class OpenDataset {
  private readers: { store: Store; cookie: number }[] = [];
  private leases = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Wakes this dataset's live pulls after each commit. */
  readonly notifier = new ChangeNotifier();
  /** The pulls near the head of the stream, answered from one read. */
  readonly head: HeadPages;

  constructor(
    readonly served: ServedReplica,
    readonly counter: Counter,
    private readonly onClose: () => void,
  ) {
    this.head = new HeadPages(served);
  }

  /** A commit landed through this hub: the head's read is stale, and live pulls wake. */
  committed(): void {
    this.head.invalidate();
    this.notifier.notify();
  }

  /** True while a request holds a handle on it. */
  get inUse(): boolean {
    return this.leases > 0;
  }

  acquire(): void {
    this.leases++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A request is done; the last one out starts the idle clock. */
  release(idleMs: number): void {
    this.leases--;
    if (this.leases > 0 || this.closed) return;
    this.timer = setTimeout(() => {
      if (this.leases === 0) this.close();
    }, idleMs);
    this.timer.unref();
  }

  /** A reader connection for one pull, made for the current schema. */
  takeReader(): Store {
    const cookie = this.served.schemaCookie();
    for (let r = this.readers.pop(); r; r = this.readers.pop()) {
      if (r.cookie === cookie) return r.store;
      r.store.close();
    }
    return this.served.openReader();
  }

  /** Back into the pool when it is clean, the schema unchanged and the pool not full; else closed. */
  giveBack(reader: Store): void {
    const cookie = this.closed || reader.db.inTransaction ? undefined : this.served.schemaCookie();
    if (cookie === undefined || this.readers.length >= IDLE_READERS) reader.close();
    else this.readers.push({ store: reader, cookie });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.notifier.close();
    for (const r of this.readers) r.store.close();
    this.readers = [];
    this.served.store.close();
    void this.counter.forget(this.served.store.path);
    this.onClose();
  }
}

/** One request's handle on an open dataset. */
class SqliteDataset implements Dataset {
  private released = false;

  constructor(
    private readonly d: OpenDataset,
    private readonly idleMs: number,
  ) {}

  get name(): string {
    return this.d.served.name;
  }

  private get served(): ServedReplica {
    if (this.released) throw new Error(`dataset ${this.name} used after its handle was closed`);
    return this.d.served;
  }

  async info(site?: Uint8Array): Promise<DatasetInfo> {
    return this.served.info(site);
  }

  async pull(site: Uint8Array, since: Cursor, pageSize: number): Promise<PageStream> {
    const served = this.served;
    const near = this.d.head.pull(site, since, pageSize);
    if (near) return near;
    const reader = this.d.takeReader();
    try {
      return new ReaderPages(served.pull(reader.db, site, since, pageSize), () => this.d.giveBack(reader));
    } catch (err) {
      this.d.giveBack(reader);
      throw err;
    }
  }

  async countPending(site: Uint8Array, since: Cursor): Promise<number> {
    const served = this.served;
    return this.d.counter.count(served.store.path, served.name, site, since);
  }

  async push(site: Uint8Array, seen: bigint | undefined, pages: AsyncIterable<Page>): Promise<PushResponse> {
    const served = this.served;
    const apply = served.pushApplier(site, seen);
    let cursor = served.received(site);
    let received = 0;
    let count = 0;
    const conflicts: WireConflict[] = [];
    for await (const page of pages) {
      const r = apply(page);
      this.d.committed();
      received += r.received;
      count++;
      cursor = cursorToJson(page.cursor);
      for (const c of r.conflicts) conflicts.push(toWireConflict(c, stringifySqlJson(jsonSide(c.ours)), stringifySqlJson(jsonSide(c.theirs))));
      // Between pages, let other clients' requests run.
      await yieldToLoop();
    }
    return { received, pages: count, cursor, conflicts };
  }

  async applySchema(req: SchemaRequest, source: string): Promise<string[]> {
    const applied = this.served.applySchema(req, source);
    if (applied.length > 0) this.d.committed();
    return applied;
  }

  async waitForChange(since: Cursor, conflictsAfter: bigint | undefined, ms: number, signal: AbortSignal): Promise<boolean> {
    // Checked and registered in one turn of the loop: no commit can land in between.
    const mark = this.served.changeMark();
    if (mark.version > since.version || (conflictsAfter !== undefined && mark.conflictId > conflictsAfter)) return true;
    return this.d.notifier.wait(ms, signal);
  }

  async conflictsFor(site: Uint8Array, afterId: bigint): Promise<ConflictsForSite> {
    return this.served.conflictsFor(site, afterId);
  }

  async recordReported(site: Uint8Array, conflicts: WireConflict[]): Promise<{ added: number; refused: number }> {
    const r = this.served.recordReported(site, conflicts);
    if (r.added > 0) this.d.committed();
    return r;
  }

  async resolutionsFor(site: Uint8Array, afterId: bigint): Promise<{ resolutions: WireResolution[]; lastId: bigint }> {
    return this.served.resolutionsFor(site, afterId);
  }

  async recordResolutions(site: Uint8Array, resolutions: WireResolution[]): Promise<void> {
    this.served.recordResolutions(site, resolutions);
    this.d.committed();
  }

  async claimSite(site: Uint8Array, owner: Uint8Array): Promise<boolean> {
    return claimSite(this.served.db, site, owner);
  }

  async snapshot(dest: string): Promise<SnapshotMade> {
    // In a worker thread: VACUUM INTO of a big dataset takes seconds the hub's loop cannot give.
    return runSnapshotJob({ type: 'copy', source: this.served.store.path, dest });
  }

  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.d.release(this.idleMs);
  }
}
