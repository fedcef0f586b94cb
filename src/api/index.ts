// The crsync library: what the CLI does, for apps that embed a replica (docs/api.md).
export { openReplica, Replica, type OpenReplicaOptions, type TransferOptions, type PushOptions, type StartSyncOptions } from './replica.js';
export { LiveSync, type LiveSyncOptions, type LiveStatus, type LiveState, type LiveChange, type LiveTransfer, type BackoffOptions } from '../sync/client/live.js';
export type { WatchCallback } from './watch.js';
export type { PullResult, PushResult, SyncResult } from '../sync/client/engine.js';
export type { StatusResult, RemoteStatus } from '../sync/client/status.js';
export type { ConflictView, ConflictSelection } from '../db/conflicts/list.js';
export type { ResolveDecision, ResolveResult } from '../db/conflicts/resolve.js';
export type { TrackResult } from '../db/replica.js';
export { CrsyncError } from '../errors.js';
