import type { SqlValue } from '../../values.js';
import type { ReplicatedSchema, TableSchema } from './schema.js';

/** Version of the wire protocol; part of every URL (/v1/...). */
export const PROTOCOL_VERSION = 1;

/** Media type of a change stream (length-prefixed msgpack frames). */
export const FRAMES_MEDIA_TYPE = 'application/vnd.crsync.frames+msgpack';

/** Media type of GET /v1/datasets/<name>/snapshot: a gzipped SQLite file (docs/protocol.md, "Snapshot"). */
export const SNAPSHOT_MEDIA_TYPE = 'application/vnd.crsync.snapshot+gzip';

/** Headers of a snapshot answer: who wrote it, its stream position, and the uncompressed file's size and sha256. */
export const SNAPSHOT_HEADERS = {
  protocol: 'x-crsync-protocol',
  site: 'x-crsync-snapshot-site',
  version: 'x-crsync-snapshot-version',
  size: 'x-crsync-snapshot-size',
  sha256: 'x-crsync-snapshot-sha256',
} as const;

/**
 * Default number of changes in one page (one transaction on the receiving side). 2000 moves 1M
 * changes as fast as 5000 did, in either direction, and keeps a page's rows small enough to die
 * in V8's young generation: with 5000, some pulls promoted whole pages early and the hub peaked
 * at 131-177 MiB instead of 116.
 */
export const DEFAULT_PAGE_SIZE = 2000;

/** Most changes in one page: a larger pull request is refused, a larger page on the wire too. */
export const MAX_PAGE_SIZE = 100_000;

/** Longest a live pull (`wait=`) is held by a hub when nothing comes; longer asks are cut to this. */
export const MAX_LIVE_WAIT_MS = 30_000;

/** Largest frame a peer accepts (bytes, before decompression of the stream as a whole). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * One row of crsql_changes, in column order:
 * table, pk (packed), cid, val, col_version, db_version, site_id, cl, seq.
 */
export type Change = [
  table: string,
  pk: Uint8Array,
  cid: string,
  val: SqlValue,
  colVersion: bigint,
  dbVersion: bigint,
  siteId: Uint8Array,
  cl: bigint,
  seq: bigint,
];

/** A position in a replica's change stream: everything at or before (version, seq) is covered. */
export interface Cursor {
  version: bigint;
  seq: bigint;
}

/**
 * The start of every stream: before the first change (the SQL DEFAULTs of the cursor columns in
 * src/db/state/bookkeeping.ts spell the same 0 / -1).
 */
export const START: Readonly<Cursor> = Object.freeze({ version: 0n, seq: -1n });

/**
 * Seq of a cursor that stands after every change of its version (2^53 - 1: exact in JSON too). A
 * committed version never gains changes (each transaction, local or merge, gets versions above all
 * existing ones), so a stream that has read a version to its end can say so, and resuming skips it
 * without reading it again; `{ version: v, seq: END_OF_VERSION }` means "has all of version v".
 */
export const END_OF_VERSION = 2n ** 53n - 1n;

/** True when (v, s) comes after the cursor. */
export function isAfter(c: Cursor, version: bigint, seq: bigint): boolean {
  return version > c.version || (version === c.version && seq > c.seq);
}

/** A bounded slice of a change stream; the receiver applies it in one transaction with its cursor. */
export interface Page {
  changes: Change[];
  /** Position of the last change of the page in the sender's stream. */
  cursor: Cursor;
}

/** First frame of a stream: who sends it and what schema its changes fit. */
export interface StreamHeader {
  site: Uint8Array;
  schemaHash: string;
  /** Push only: how far the pusher has pulled of the receiver's stream (conflict detection). */
  seen?: bigint;
}

/** Last frame of a complete stream. */
export interface StreamEnd {
  cursor: Cursor;
  changes: number;
  /** A pull's answer to a client that named the identity it knows (knownSite, knownSchema): the hub dataset's site id (hex)... */
  hubSite?: string;
  /** ...and its schema hash now. Absent from pushes and from hubs before this field. */
  schemaHash?: string;
}

/** A conflict as exchanged between hub and client (values in crsync JSON text). */
export interface WireConflict {
  table: string;
  pk: Uint8Array;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  /** Receiver's side (the hub's, in a push response). */
  ours: string;
  theirs: string;
  winner: 'ours' | 'theirs';
  oursSite: Uint8Array | null;
  theirsSite: Uint8Array | null;
  oursColVersion: bigint | null;
  theirsColVersion: bigint | null;
}

/**
 * A resolution of a conflict, as it travels between replicas ("r" frames). It names the conflict
 * by its pair of writes, orientation-free: `a` is the lesser of the two (site hex, then version),
 * or for delete_update the lower causal length (sites null: a delete_update is named by its lives).
 */
export interface WireResolution {
  table: string;
  pk: Uint8Array;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  aSite: Uint8Array | null;
  aVersion: bigint;
  bSite: Uint8Array | null;
  bVersion: bigint;
  /** What the resolver kept: cr-sqlite's winner, the losing write, or a value of its own. */
  choice: 'winner' | 'loser' | 'value';
  /** The kept value in crsync JSON text (a row object or null for delete_update). */
  value: string;
  /** Site that resolved it. */
  resolver: Uint8Array;
  /** col_version of the cell write the resolution made, or null when it wrote none (or a row). */
  writtenVersion: bigint | null;
  /** When it was resolved (ISO 8601). */
  at: string;
}

/** Optional abilities a replica advertises in its info (older ones advertise none). */
export const FEATURES = ['resolutions'] as const;

/** GET /v1/datasets/<name>: what a client needs before moving changes. */
export interface DatasetInfo {
  protocol: number;
  dataset: string;
  siteId: string;
  dbVersion: string;
  schema: ReplicatedSchema;
  /** With ?site=<hex>: how far the hub has committed that site's pushes (resume point). */
  received?: { version: string; seq: string };
  /** With ?site=<hex>: when the hub last committed a page of that site's pushes (ISO 8601 UTC); absent: never. */
  receivedAt?: string;
  /** A hub's limits on what it accepts (a sender keeps its pages within them). */
  limits?: { maxBodyBytes: number; maxFrameBytes: number; maxPageSize: number; maxValueBytes: number };
  /** Optional abilities ("resolutions": takes and relays "r" frames); absent on older replicas. */
  features?: string[];
}

/** Response of a push. */
export interface PushResponse {
  received: number;
  pages: number;
  cursor: { version: string; seq: string };
  conflicts: WireConflict[];
}

/**
 * Body of POST /v1/datasets/<name>/schema: the sender's whole replicated schema. The receiver
 * adds what it lacks when that is additive (or creates the dataset), else refuses with 409.
 */
export interface SchemaRequest {
  tables: TableSchema[];
  /** The sender's schema version, so the receiver's version does not go backwards. */
  version: number;
}
