import { parentPort, workerData } from 'node:worker_threads';
import { toCrsyncError } from '../errors.js';
import { useExtensionPath } from '../db/extension.js';
import { checkUpload } from '../db/snapshot-check.js';
import { validSchemaRequest } from './schema-request.js';

/** An upload to check and adopt: where it is and who sent it. */
export interface UploadJob {
  path: string;
  site: Uint8Array;
  version: bigint;
  owner?: Uint8Array;
  maxValueBytes: number;
}

/** A job of the SQLite store (snapshot-worker.ts): copy a dataset's file into a snapshot, or check and adopt an upload. */
export type SqliteSnapshotJob = { type: 'copy'; source: string; dest: string } | ({ type: 'adopt' } & UploadJob);

/** A job of the PostgreSQL store (pg-snapshot-worker.ts): copy a dataset's cells into a file, or check and load an upload. */
export type PgSnapshotJob = { type: 'pg-copy'; url: string; dataset: bigint; dest: string } | ({ type: 'pg-adopt'; url: string; name: string } & UploadJob);

export type SnapshotJob = SqliteSnapshotJob | PgSnapshotJob;

/** What a worker answers: the snapshot's writer (site), position and changes (and for an adopted upload, whether it replaced a dataset), or an error. */
export type SnapshotJobAnswer =
  | { site: Uint8Array; version: bigint; changes: number; replaced?: boolean }
  | { error: { code: string; message: string; hint?: string; details?: unknown } };

/** Given to a worker at its start. */
export interface SnapshotWorkerData {
  extensionPath: string;
  job: SnapshotJob;
}

/** Checks an uploaded file, and its schema against a schema request's caps (they hold for a snapshot's schema too). */
export function checkUploadJob(job: UploadJob): ReturnType<typeof checkUpload> {
  const schema = checkUpload(job.path, job);
  validSchemaRequest({ version: schema.version, tables: schema.tables });
  return schema;
}

/**
 * The body of a snapshot worker thread: runs its one job with the extension path it was given
 * and posts the answer (an error as its code, message and hint, so the hub answers with them).
 */
export async function runWorkerJob<J extends SnapshotJob>(run: (job: J) => SnapshotJobAnswer | Promise<SnapshotJobAnswer>): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('a snapshot worker runs as a worker thread');
  const data = workerData as SnapshotWorkerData;
  useExtensionPath(data.extensionPath);
  let answer: SnapshotJobAnswer;
  try {
    answer = await run(data.job as J);
  } catch (err) {
    const e = toCrsyncError(err);
    answer = { error: { code: e.code, message: e.message, hint: e.hint, details: e.details } };
  }
  port.postMessage(answer);
}
