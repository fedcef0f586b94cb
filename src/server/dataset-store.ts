import type { Cursor, DatasetInfo, Page, PushResponse, SchemaRequest, WireConflict, WireResolution } from '../sync/protocol/types.js';

/**
 * Where a hub keeps its datasets. Every endpoint goes through this interface, so the storage can
 * change (SQLite files today, sqlite-store.ts; PostgreSQL next) without touching the HTTP side.
 * Values are the protocol's own types; every method is async.
 */
export interface DatasetStore {
  /**
   * A handle on a dataset for one request, open until its `close()`. Throws dataset_not_found
   * when it does not exist, unless `create`. Many handles on one dataset may be open at once.
   */
  open(name: string, options: { create: boolean }): Promise<Dataset>;
  /** Every dataset, by name, with its size in bytes (GET /v1/datasets). */
  list(): Promise<{ name: string; bytes: number }[]>;
  /** Whether a dataset of that name exists (open or not). */
  exists(name: string): Promise<boolean>;
  /**
   * Makes an uploaded snapshot (a first push by snapshot, checksum already checked) dataset
   * `name`: checks the file (a sane current crsync replica, its schema within the caps, values
   * within `maxValueBytes`, no bookkeeping of other sites), gives the dataset a fresh site id
   * with the pusher's writes kept under the pusher's, records the pusher's stream as received
   * up to the snapshot, and installs it atomically, only where no dataset of that name exists or
   * the one there holds no change yet (else dataset_not_empty, and the client pushes its change
   * stream). `file` is the store's from then on (moved into place or removed).
   */
  adoptSnapshot(name: string, file: string, upload: SnapshotUpload): Promise<SnapshotAdopted>;
  /** Closes every dataset (hub shutdown); handles still open fail from then on. */
  close(): Promise<void>;
}

/** Who uploaded a snapshot, and what it is said to be. */
export interface SnapshotUpload {
  /** The pusher's site id: the local site (ordinal 0) of the uploaded file. */
  site: Uint8Array;
  /** The pusher's stream position at the snapshot (the newest db_version in the file). */
  version: bigint;
  /** The token digest the pusher's site is bound to (hubs with tokens). */
  owner?: Uint8Array;
  maxValueBytes: number;
}

/** The dataset an upload became: its new site id, its position, and whether it replaced an empty one. */
export interface SnapshotAdopted {
  site: Uint8Array;
  version: bigint;
  changes: number;
  replaced: boolean;
}

/** Conflicts a site should hear of, and the id to ask after next time. */
export interface ConflictsForSite {
  conflicts: WireConflict[];
  lastId: bigint;
}

/** Pages of one pull. Ending the iteration early (`return()`) frees what the pull holds. */
export type PageStream = AsyncIterableIterator<Page>;

/** A snapshot written by `Dataset.snapshot`: who wrote it, and up to which of its versions. */
export interface SnapshotMade {
  site: Uint8Array;
  /** The dataset's stream position at the snapshot (its db version then). */
  version: bigint;
  /** Changes (clock rows) it holds. */
  changes: number;
}

/** One dataset, as one request sees it. */
export interface Dataset {
  readonly name: string;
  /** Identity, schema and (for a site) the resume point of its pushes. */
  info(site?: Uint8Array): Promise<DatasetInfo>;
  /**
   * The pages a pull from `since` carries for `site` (its own writes and what it delivered left
   * out). Refuses (cursor_ahead) before the first page, so the refusal can still be the answer.
   */
  pull(site: Uint8Array, since: Cursor, pageSize: number): Promise<PageStream>;
  /** How many changes that pull would carry. Never holds up other requests while it counts. */
  countPending(site: Uint8Array, since: Cursor): Promise<number>;
  /**
   * Applies one push: each page commits with its cursor as it comes, so when `pages` throws
   * (the client went away) the pages before stay committed and the push resumes after them.
   * `seen` is how far the site has pulled this dataset's stream.
   */
  push(site: Uint8Array, seen: bigint | undefined, pages: AsyncIterable<Page>): Promise<PushResponse>;
  /** Creates the schema or carries over additive changes; refuses others (schema_mismatch). Returns what it added. */
  applySchema(req: SchemaRequest, source: string): Promise<string[]>;
  /** Conflicts recorded after `afterId` in which `site`'s write lost, seen from the site. */
  conflictsFor(site: Uint8Array, afterId: bigint): Promise<ConflictsForSite>;
  /**
   * Waits for something a live pull from `since` could carry: resolves true at once when the
   * dataset's stream is already past `since.version` or has conflicts after `conflictsAfter`,
   * else at the next commit (pages of a push, a schema change, reported conflicts; bursts
   * collapsed), and false when `ms` pass or `signal` aborts first. A store backed by a server
   * (PostgreSQL LISTEN/NOTIFY) implements it the same way.
   */
  waitForChange(since: Cursor, conflictsAfter: bigint | undefined, ms: number, signal: AbortSignal): Promise<boolean>;
  /**
   * Records conflicts a site found while pulling, so the other side hears of them: how many were
   * new, and how many were left out because they cannot be conflicts of this dataset.
   */
  recordReported(site: Uint8Array, conflicts: WireConflict[]): Promise<{ added: number; refused: number }>;
  /** Resolutions recorded here after `afterId` that `site` neither made nor delivered, and the newest id. */
  resolutionsFor(site: Uint8Array, afterId: bigint): Promise<{ resolutions: WireResolution[]; lastId: bigint }>;
  /** Applies resolutions a site pushed (closing this dataset's copies of their conflicts) and keeps them to relay. */
  recordResolutions(site: Uint8Array, resolutions: WireResolution[]): Promise<void>;
  /**
   * Binds `site` to the token `owner` (a digest) that first pushes as it; false when another
   * token owns it (the push is refused).
   */
  claimSite(site: Uint8Array, owner: Uint8Array): Promise<boolean>;
  /**
   * Writes a consistent copy of the dataset (one read transaction) to `dest`, a new file, with the
   * dataset's own bookkeeping of other sites left out (peers, merge records, conflicts).
   */
  snapshot(dest: string): Promise<SnapshotMade>;
  /** Ends this handle (the store may keep the dataset open for the next request). */
  close(): Promise<void>;
}
