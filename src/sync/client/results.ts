import type { RetryOptions } from './retry.js';
import type { RequestObserver } from '../transports/transport.js';

/*
 * What push, pull and sync take and return (the engine's public shapes; engine.ts re-exports
 * them, and the library and the CLI print them as they are).
 */

/** Progress of a transfer, for spinners. */
export interface TransferProgress {
  phase: 'pull' | 'push';
  changes: number;
  bytes: number;
  /** Changes known to be left, when known. */
  total?: number;
}

/** Options shared by push, pull and sync. */
export interface SyncOptions {
  dbPath: string;
  remote: string;
  env: NodeJS.ProcessEnv;
  pageSize?: number;
  /** Carry additive schema changes (default true; --no-migrate turns it off). */
  migrate?: boolean;
  signal?: AbortSignal;
  retry?: Partial<RetryOptions>;
  onProgress?: (p: TransferProgress) => void;
  /** Pull only: hold the pull this long at a hub when nothing is pending (live sync). */
  waitMs?: number;
  /** Pull only: the remote started answering. */
  onAnswer?: () => void;
  /** Told of each HTTP request once it ended (`-v`). */
  onRequest?: RequestObserver;
  /**
   * Whether a push may create a missing dataset (or peer file): only when true (`push --create`,
   * the library's `{ create: true }`), so a typo in a URL fails instead of making a dataset.
   */
  create?: boolean;
  /**
   * A first push into a missing or empty dataset may upload a snapshot of the replica instead of
   * its change stream. The CLI asks for it unless --no-snapshot; library callers opt in.
   */
  snapshot?: boolean;
}

/** Resolution records a transfer moved ("r" frames): made or heard of here and sent, or received. */
export interface ResolutionCounts {
  sent: number;
  received: number;
}

/** Result of `crsync sync` (pull, then push); pull and push return the same shape. */
export interface SyncResult {
  remote: string;
  url: string;
  /** Changes sent and received. */
  sent: number;
  received: number;
  /** New conflicts recorded here. */
  conflicts: number;
  resolutions: ResolutionCounts;
  /** How the push went: a snapshot of the replica (a first push), or its change stream. */
  via: 'snapshot' | 'changes';
  schemaChanges: string[];
  bytes: number;
  ms: number;
}

/** Result of `crsync pull`. */
export interface PullResult extends Omit<SyncResult, 'via'> {
  sent: 0;
}

/** Result of `crsync push`. */
export interface PushResult extends SyncResult {
  received: 0;
  created: boolean;
}
