// Worker thread of a hub for one snapshot job of the PostgreSQL store (snapshot-jobs.ts starts
// it): reading a dataset's cells into a new SQLite file, or checking an uploaded file and loading
// its cells, neither of which may hold up the hub's event loop. Bundled as one file, apart from
// the SQLite store's worker.
import { adoptIntoPg } from './pg/snapshot-adopt.js';
import { copyPgDataset } from './pg/snapshot-copy.js';
import { checkUploadJob, runWorkerJob, type PgSnapshotJob } from './snapshot-job.js';

void runWorkerJob<PgSnapshotJob>((job) => {
  if (job.type === 'pg-copy') return copyPgDataset(job.url, job.dataset, job.dest);
  return adoptIntoPg(job.url, { ...job, schema: checkUploadJob(job) });
});
