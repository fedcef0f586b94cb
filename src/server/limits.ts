import { UsageError } from '../errors.js';
import { MAX_FRAME_BYTES, MAX_PAGE_SIZE } from '../sync/protocol/types.js';
import type { FrameLimits } from '../sync/protocol/limits.js';

/** The limits of a hub: what one request may send, how slowly, and how many connections at once. */
export interface ServerLimits extends FrameLimits {
  /** Largest push body, in bytes after decompression (a push's pages are committed as they come). */
  maxBodyBytes: number;
  /** Time for a request's line and headers to arrive. */
  headersTimeoutMs: number;
  /** Longest silence while a request is under way: no byte in (a body) or out (a pull's answer). */
  idleTimeoutMs: number;
  /**
   * Inside a frame (or a JSON body) bytes must keep coming at this average rate, with one
   * idle timeout of grace: a client that trickles bytes is cut off, a fast long push never is.
   */
  minBytesPerSec: number;
  /** Open connections at once; more are answered 503 busy (with Retry-After) and closed. */
  maxConnections: number;
  /** Live pulls held at once (waiting for a commit); more are answered 503 busy. */
  maxLive: number;
  /** Open connections from one client address; more are closed at once (one client cannot take every slot). */
  maxClientConnections: number;
  /** Bytes of frames and pull pages in flight across all requests; more get 503 busy. */
  maxMemoryBytes: number;
  /** Datasets a hub may hold; creating more is refused (403 dataset_limit). */
  maxDatasets: number;
}

const MiB = 1024 * 1024;

/** Defaults of `crsync serve` (docs/reliability.md, "Hostile input and hub limits"). */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxBodyBytes: 1024 * MiB,
  maxFrameBytes: MAX_FRAME_BYTES,
  maxPageSize: MAX_PAGE_SIZE,
  maxValueBytes: 16 * MiB,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 30_000,
  minBytesPerSec: 1024,
  maxConnections: 512,
  maxLive: 256,
  maxClientConnections: 128,
  maxMemoryBytes: 1024 * MiB,
  maxDatasets: 1000,
};

/** Fills in defaults and checks that the limits fit together and within the protocol. */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const l: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`limit ${k} must be a positive integer, got ${v}`);
  }
  if (l.maxFrameBytes > MAX_FRAME_BYTES) throw new UsageError(`--max-frame may be at most ${MAX_FRAME_BYTES} bytes (the protocol's limit)`);
  if (l.maxPageSize > MAX_PAGE_SIZE) throw new UsageError(`--max-page may be at most ${MAX_PAGE_SIZE} changes (the protocol's limit)`);
  if (l.maxValueBytes > l.maxFrameBytes) throw new UsageError('--max-value cannot exceed --max-frame', 'a value travels inside one frame');
  if (l.maxFrameBytes > l.maxMemoryBytes) throw new UsageError('--max-frame cannot exceed --max-memory', 'a frame in flight counts against the hub-wide budget');
  if (l.maxFrameBytes > l.maxBodyBytes) throw new UsageError('--max-frame cannot exceed --max-body', 'a frame travels inside one push body');
  return l;
}

/** Connections a hub process keeps to PostgreSQL by default (`crsync serve --store-pool`); each pull in flight holds one. */
export const DEFAULT_STORE_POOL = 10;
