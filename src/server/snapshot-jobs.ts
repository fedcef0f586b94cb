import { Worker } from 'node:worker_threads';
import { CrsyncError, isErrorCode } from '../errors.js';
import { extensionPath } from '../db/extension.js';
import type { SnapshotJob, SnapshotJobAnswer, SnapshotWorkerData } from './snapshot-job.js';

/** A job's result: the snapshot's writer, its stream position, the changes it holds (and whether an upload replaced a dataset). */
export interface SnapshotJobResult {
  site: Uint8Array;
  version: bigint;
  changes: number;
  replaced?: boolean;
}

/**
 * Runs one snapshot job in a worker thread of its own (snapshot-worker.ts, or pg-snapshot-worker.ts for the PostgreSQL store; bundled next to this
 * module like the count worker), so the hub's event loop goes on serving while SQLite copies or
 * reads a whole dataset. A thread per job: a job takes seconds, starting a thread milliseconds.
 */
export function runSnapshotJob(job: SnapshotJob): Promise<SnapshotJobResult> {
  const data: SnapshotWorkerData = { extensionPath: extensionPath(), job };
  const w = new Worker(new URL(job.type.startsWith('pg-') ? './pg-snapshot-worker.js' : './snapshot-worker.js', import.meta.url), { workerData: data });
  return new Promise<SnapshotJobResult>((resolve, reject) => {
    let answered = false;
    w.once('message', (a: SnapshotJobAnswer) => {
      answered = true;
      if ('error' in a) reject(new CrsyncError(isErrorCode(a.error.code) ? a.error.code : 'internal', a.error.message, { hint: a.error.hint, details: a.error.details }));
      else resolve(a);
    });
    w.once('error', (err) => reject(new CrsyncError('internal', `internal error: the snapshot worker failed: ${err.message}`, { hint: 'try again' })));
    w.once('exit', (code) => {
      if (!answered) reject(new CrsyncError('internal', `internal error: the snapshot worker exited (code ${code})`, { hint: 'try again' }));
    });
  });
}
