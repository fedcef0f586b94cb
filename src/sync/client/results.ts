import type { RetryOptions } from './retry.js';

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
  /**
   * Whether a push may create a missing dataset. The CLI always says (false unless push
   * --create: a typo must not make a dataset); undefined keeps the library's creating push.
   */
  create?: boolean;
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
  schemaChanges: string[];
  bytes: number;
  ms: number;
}

/** Result of `crsync pull`. */
export interface PullResult extends SyncResult {
  sent: 0;
}

/** Result of `crsync push`. */
export interface PushResult extends SyncResult {
  received: 0;
  created: boolean;
}
