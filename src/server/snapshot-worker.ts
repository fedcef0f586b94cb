// Worker thread of a hub for one snapshot job of the SQLite store (snapshot-jobs.ts starts it):
// copying a dataset (VACUUM INTO, seconds for a big one) or checking and adopting an uploaded one
// (a full read of the file), neither of which may hold up the hub's event loop, its health checks
// or its pulls. The PostgreSQL store's jobs run in pg-snapshot-worker.ts, so this bundle, which
// every SQLite hub starts per job, carries no pg client.
import { copyReplica } from '../db/snapshot.js';
import { adoptUpload } from '../db/snapshot-upload.js';
import { checkUploadJob, runWorkerJob, type SqliteSnapshotJob } from './snapshot-job.js';

void runWorkerJob<SqliteSnapshotJob>((job) => {
  if (job.type === 'copy') return copyReplica(job.source, job.dest);
  checkUploadJob(job);
  return adoptUpload(job.path, { site: Buffer.from(job.site), version: job.version, owner: job.owner });
});
