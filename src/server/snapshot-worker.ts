// Worker thread of a hub for one snapshot job (snapshot-jobs.ts starts it): copying a dataset
// (VACUUM INTO, seconds for a big one; on PostgreSQL, reading its cells into a new file) or
// checking and adopting an uploaded one (a full read of the file, loaded into PostgreSQL there),
// none of which may hold up the hub's event loop, its health checks or its pulls.
import { parentPort, workerData } from 'node:worker_threads';
import { toCrsyncError } from '../errors.js';
import { useExtensionPath } from '../db/extension.js';
import { copyReplica } from '../db/snapshot.js';
import { checkUpload } from '../db/snapshot-check.js';
import { adoptUpload } from '../db/snapshot-upload.js';
import { validSchemaRequest } from './schema-request.js';
import { adoptIntoPg } from './pg/snapshot-adopt.js';
import { copyPgDataset } from './pg/snapshot-copy.js';

/** An upload to check and adopt: where it is and who sent it. */
interface UploadJob {
  path: string;
  site: Uint8Array;
  version: bigint;
  owner?: Uint8Array;
  maxValueBytes: number;
}

/** One job: copy a dataset's file (or, on PostgreSQL, its cells) into a snapshot, or check and adopt an upload. */
export type SnapshotJob =
  | { type: 'copy'; source: string; dest: string }
  | ({ type: 'adopt' } & UploadJob)
  | { type: 'pg-copy'; url: string; dataset: bigint; dest: string }
  | ({ type: 'pg-adopt'; url: string; name: string } & UploadJob);

/** What the worker answers: the snapshot's writer (site), position and changes (and for an adopted upload, whether it replaced a dataset), or an error. */
export type SnapshotJobAnswer =
  | { site: Uint8Array; version: bigint; changes: number; replaced?: boolean }
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

async function run(job: SnapshotJob): Promise<SnapshotJobAnswer> {
  if (job.type === 'copy') return copyReplica(job.source, job.dest);
  if (job.type === 'pg-copy') return copyPgDataset(job.url, job.dataset, job.dest);
  const schema = checkUpload(job.path, job);
  // The caps of a schema request hold for a snapshot's schema too.
  validSchemaRequest({ version: schema.version, tables: schema.tables });
  if (job.type === 'pg-adopt') return adoptIntoPg(job.url, { ...job, schema });
  return adoptUpload(job.path, { site: Buffer.from(job.site), version: job.version, owner: job.owner });
}

let answer: SnapshotJobAnswer;
try {
  answer = await run(data.job);
} catch (err) {
  const e = toCrsyncError(err);
  answer = { error: { code: e.code, message: e.message, hint: e.hint, details: e.details } };
}
port.postMessage(answer);
