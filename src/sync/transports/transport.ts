import type { Cursor, DatasetInfo, Page, PushResponse, SchemaRequest, StreamEnd, WireConflict, WireResolution } from '../protocol/types.js';

/** One pull request: who asks, from where, and how big the pages may be. */
export interface PullRequest {
  site: Uint8Array;
  since: Cursor;
  pageSize: number;
  /** Ask for the conflicts recorded on the remote after this id that involve our writes. */
  conflictsAfter?: bigint;
  /** Receives those conflicts (seen from us) and the remote's newest conflict id. */
  onConflicts?: (conflicts: WireConflict[], lastId: bigint) => void;
  /** Ask for the resolutions recorded on the remote after this id (only if it has "resolutions"). */
  resolutionsAfter?: bigint;
  /** Receives them and the remote's newest resolution id. */
  onResolutions?: (resolutions: WireResolution[], lastId: bigint) => void;
  /** A live pull: when nothing is pending, the remote holds the request this long for a commit (hubs only). */
  waitMs?: number;
  /** Called when the remote starts answering (a held live pull: when the hold ended). */
  onAnswer?: () => void;
  /**
   * The remote's identity as the client last heard it (its info): a hub then says in the end
   * frame whether it still holds, and answers no page when it does not (hubs only).
   */
  known?: { site: string; schemaHash: string };
}

/** The header of one push. */
export interface PushRequest {
  site: Uint8Array;
  schemaHash: string;
  /** How far the pusher has pulled the receiver's stream. */
  seen: bigint;
  /** Conflicts the pusher found while pulling, for the remote to pass on to the other side. */
  conflicts?: WireConflict[];
  /** Resolutions for the remote to apply and relay (only to a remote with "resolutions"). */
  resolutions?: WireResolution[];
}

/** A snapshot a transport wrote: the remote's site, its stream position, the file's size. */
export interface SnapshotReceipt {
  site: Buffer;
  /** Every change of the remote up to this version is in the file. */
  version: bigint;
  bytes: number;
}

/** A sealed copy of a replica to upload (a first push): who wrote it and up to which version. */
export interface SnapshotUploadMeta {
  site: Buffer;
  version: bigint;
}

/** What the remote made of an uploaded snapshot: its new dataset's site id and position. */
export interface SnapshotUploadReceipt {
  siteId: Buffer;
  dbVersion: bigint;
  changes: number;
}

/** One HTTP request as `-v` shows it: what was asked, the answer, the bytes each way, the time. */
export interface HttpExchange {
  method: string;
  /** Path and query of the URL. */
  path: string;
  /** The answer's status; null when none came (refused, reset, timed out, aborted). */
  status: number | null;
  /** Bytes on the wire each way (headers included), as far as the exchange went. */
  sent: number;
  received: number;
  /** From the request's start to its answer's last byte (or the failure). */
  ms: number;
  /** Why it ended without a whole answer (an error code or message), if it did. */
  error?: string;
}

/** Called once per HTTP request when it has ended (verbose output). */
export type RequestObserver = (e: HttpExchange) => void;

/** Statistics a transport keeps of what crossed the wire. */
export interface TransferStats {
  bytesSent: number;
  bytesReceived: number;
}

/**
 * How a client talks to a remote: a hub over HTTP, or another database file directly.
 * Both carry the same operations (see ServedReplica on the serving side).
 */
export interface Transport {
  readonly url: string;
  readonly stats: TransferStats;
  /** Throws `dataset_not_found` when the remote has no such dataset (or file). */
  info(site: Uint8Array, signal?: AbortSignal): Promise<DatasetInfo>;
  /** Streams pages; `onPage` commits each one before the next is read. Returns the end frame. */
  pull(req: PullRequest, onPage: (page: Page) => void | Promise<void>, signal?: AbortSignal): Promise<StreamEnd>;
  /** Sends pages; the receiver commits each with its cursor and answers once at the end. */
  push(req: PushRequest, pages: AsyncIterable<Page>, signal?: AbortSignal): Promise<PushResponse>;
  /** Creates the dataset or carries over additive schema changes. */
  applySchema(req: SchemaRequest, signal?: AbortSignal): Promise<void>;
  /** Counts changes a pull from `since` would bring (status). */
  countPending(req: PullRequest, timeoutMs: number): Promise<number>;
  /**
   * Writes a consistent copy of the remote's replica to `out` (a plain SQLite file, checked),
   * with the remote's bookkeeping of other sites left out; null when the remote cannot make one.
   * A cut download resumes when called again with the same `out`.
   */
  snapshot(out: string, signal?: AbortSignal): Promise<SnapshotReceipt | null>;
  /**
   * Makes `copy` (a sealed plain SQLite copy of our replica, db/snapshot-upload.ts) the remote's
   * new dataset (a first push): a hub receives it gzipped, a peer file is replaced by it. The
   * transport may consume `copy` and files named `<copy>.*`. Null when the remote cannot take
   * one; a remote dataset that already holds changes refuses it (dataset_not_empty).
   */
  uploadSnapshot(copy: string, meta: SnapshotUploadMeta, signal?: AbortSignal): Promise<SnapshotUploadReceipt | null>;
  close(): Promise<void>;
}
