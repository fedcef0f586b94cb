import { existsSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { CrsyncError } from '../../errors.js';
import { cloneTarget, finishClone, startClone } from '../../db/state/clone.js';
import { openStore, siteId } from '../../db/store.js';
import { initReplica } from '../../db/replica.js';
import { listReplicatedTables } from '../../db/schema/read.js';
import { pullChanges, type SyncOptions } from './engine.js';
import { snapshotClone } from './snapshot-clone.js';
import { filePathOf, isHttpUrl, parseHubUrl } from '../transports/url.js';

/** Result of `crsync clone`. */
export interface CloneResult {
  db: string;
  url: string;
  siteId: string;
  /** How the data came: a snapshot of the remote's file, or its change stream. */
  via: 'snapshot' | 'changes';
  received: number;
  tables: string[];
  bytes: number;
  ms: number;
}

/** Options of a clone. */
export type CloneOptions = Omit<SyncOptions, 'dbPath' | 'remote'> & {
  /** Receive a snapshot of the remote's file when the target is new or empty (default true). */
  snapshot?: boolean;
};

/**
 * Default file name for a clone: the dataset (or file) name with .db, in the current folder;
 * `<name>-clone.db` when that would be the source file itself (`crsync clone ./a.db`).
 */
export function defaultCloneFile(url: string): string {
  if (isHttpUrl(url)) return `${parseHubUrl(url).dataset}.db`;
  const source = filePathOf(url);
  const name = basename(source).replace(/\.db$/, '');
  return resolve(`${name}.db`) === source ? `${name}-clone.db` : `${name}.db`;
}

/**
 * A new replica of a remote: its own fresh site id (never a copy's), the remote's replicated
 * schema, all its data, and `origin` set to the URL. An interrupted clone resumes with `pull`,
 * or by running the same clone again.
 */
export async function cloneReplica(url: string, file: string | undefined, opts: CloneOptions): Promise<CloneResult> {
  const started = performance.now();
  const dbPath = resolve(file ?? defaultCloneFile(url));
  const remoteUrl = isHttpUrl(url) ? url : filePathOf(url);
  // Running the same clone again after it was cut short (even killed) resumes it.
  const target = existsSync(dbPath) ? cloneTarget(dbPath, remoteUrl) : 'unused';
  if (target === 'other') {
    throw new CrsyncError('file_exists', `${dbPath} already exists`, {
      hint: 'clone into a new file name, or pull into the existing replica',
    });
  }
  if (target === 'unused' && opts.snapshot !== false) {
    // A new or empty file needs no merge: it can take a copy of the remote with a new identity.
    const r = await snapshotClone(remoteUrl, dbPath, opts);
    if (r) return describe(dbPath, remoteUrl, 'snapshot', { ...r, ms: Math.round(performance.now() - started) });
  }
  if (target === 'unused') {
    initReplica(dbPath);
    const store = openStore(dbPath);
    try {
      startClone(store.db, remoteUrl);
    } finally {
      store.close();
    }
  }
  let result;
  try {
    result = await pullChanges({ ...opts, dbPath, remote: 'origin' });
  } catch (err) {
    // Nothing arrived: leave no half-made replica behind. Otherwise keep it: `pull` resumes.
    const s = openStore(dbPath);
    const empty = (s.db.prepare("SELECT count(*) FROM crsync_applied").pluck().get() as number) === 0;
    s.close();
    if (empty) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
    } else if (err instanceof CrsyncError) {
      throw new CrsyncError(err.code, err.message, { hint: `the clone is partial; run \`crsync pull -d ${dbPath}\` to resume`, cause: err });
    }
    throw err;
  }
  return describe(dbPath, remoteUrl, 'changes', result);
}

/** The result of a finished clone (the pending mark cleared). */
function describe(dbPath: string, url: string, via: CloneResult['via'], moved: { received: number; bytes: number; ms: number }): CloneResult {
  const s = openStore(dbPath);
  try {
    finishClone(s.db);
    const tables = listReplicatedTables(s.db);
    return { db: dbPath, url, siteId: siteId(s.db).toString('hex'), via, received: moved.received, tables, bytes: moved.bytes, ms: moved.ms };
  } finally {
    s.close();
  }
}
