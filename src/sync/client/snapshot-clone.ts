import { existsSync, renameSync, rmSync } from 'node:fs';
import { adoptSnapshot } from '../../db/snapshot.js';
import { setMeta } from '../../db/state/bookkeeping.js';
import { finishSnapshotClone } from '../../db/state/clone.js';
import { openStore } from '../../db/store.js';
import { openTransport } from '../transports/open.js';
import { removeDownload } from '../transports/http-snapshot.js';
import { withRetries } from './retry.js';
import type { SyncOptions } from './engine.js';

/** What a snapshot clone moved. */
export interface SnapshotCloneResult {
  received: number;
  bytes: number;
}

/**
 * Clones by snapshot: the remote's consistent copy is written to `<file>.partial` (a download
 * resumes after a cut), given a new identity and the remote's cursors there, and renamed into
 * place only when complete: `<file>` is either absent or a whole replica. Returns null when the
 * remote cannot make snapshots (then the caller clones by change stream).
 */
export async function snapshotClone(remoteUrl: string, dbPath: string, opts: Omit<SyncOptions, 'dbPath' | 'remote'>): Promise<SnapshotCloneResult | null> {
  const out = `${dbPath}.partial`;
  const t = openTransport(remoteUrl, opts.env, undefined, { onRequest: opts.onRequest });
  try {
    const receipt = await withRetries(() => t.snapshot(out, opts.signal), { ...opts.retry, signal: opts.signal });
    if (!receipt) return null;
    opts.onProgress?.({ phase: 'pull', changes: 0, bytes: t.stats.bytesReceived });
    try {
      const adopted = adoptSnapshot(out, receipt);
      const store = openStore(out);
      try {
        finishSnapshotClone(store.db, remoteUrl, receipt.site, { version: receipt.version, changes: adopted.changes });
        setMeta(store.db, 'initialized_at', new Date().toISOString());
      } finally {
        store.close();
      }
      // The last connection's close checkpointed the WAL: the file alone is the replica.
      for (const suffix of ['-wal', '-shm']) {
        if (existsSync(out + suffix)) throw new Error(`${out}${suffix} outlived its connection`);
        rmSync(dbPath + suffix, { force: true });
      }
      renameSync(out, dbPath);
      return { received: adopted.changes, bytes: t.stats.bytesReceived };
    } catch (err) {
      removeDownload(out);
      for (const suffix of ['-wal', '-shm']) rmSync(out + suffix, { force: true });
      throw err;
    }
  } finally {
    await t.close();
  }
}
