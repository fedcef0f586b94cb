// Worker thread of a hub for one snapshot job (snapshot-jobs.ts starts it): copying a dataset
// (VACUUM INTO, seconds for a big one) or checking and adopting an uploaded one (a full read of
// the file), neither of which may hold up the hub's event loop, its health checks or its pulls.
import { parentPort, workerData } from 'node:worker_threads';
import { toCrsyncError } from '../errors.js';
import { useExtensionPath } from '../db/extension.js';
import { copyReplica } from '../db/snapshot.js';
import { checkUpload } from '../db/snapshot-check.js';
import { adoptUpload } from '../db/snapshot-upload.js';
import { validSchemaRequest } from './schema-request.js';

/** One job: copy a dataset's file, or check and adopt an upload. */
export type SnapshotJob =
  | { type: 'copy'; source: string; dest: string }
  | { type: 'adopt'; path: string; site: Uint8Array; version: bigint; owner?: Uint8Array; maxValueBytes: number };

/** What the worker answers: the snapshot's writer (site), position and changes, or an error. */
export type SnapshotJobAnswer =
  | { site: Uint8Array; version: bigint; changes: number }
  | { error: { code: string; message: string; hint?: string; details?: unknown } };

/** Given to the worker at its start. */
export interface SnapshotWorkerData {
  extensionPath: string;
  job: SnapshotJob;
}

const port = parentPort;
if (!port) throw new Error('snapshot-worker.js runs as a worker thread');
const data = workerData as SnapshotWorkerData;
useExtensionPath(data.extensionPath);

function run(job: SnapshotJob): SnapshotJobAnswer {
  if (job.type === 'copy') return copyReplica(job.source, job.dest);
  const schema = checkUpload(job.path, job);
  // The caps of a schema request hold for a snapshot's schema too.
  validSchemaRequest({ version: schema.version, tables: schema.tables });
  return adoptUpload(job.path, { site: Buffer.from(job.site), version: job.version, owner: job.owner });
}

let answer: SnapshotJobAnswer;
try {
  answer = run(data.job);
} catch (err) {
  const e = toCrsyncError(err);
  answer = { error: { code: e.code, message: e.message, hint: e.hint, details: e.details } };
}
port.postMessage(answer);
