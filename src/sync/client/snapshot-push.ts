import { rmSync } from 'node:fs';
import { CrsyncError } from '../../errors.js';
import { sealForUpload } from '../../db/snapshot-upload.js';
import { finishSnapshotPush } from '../../db/state/clone.js';
import { dbVersion, type Store } from '../../db/store.js';
import type { Transport } from '../transports/transport.js';
import type { PushAcc, SyncOptions } from './engine.js';

/** Files of an upload being prepared next to the replica: the sealed copy, and its gzip (a hub's transport makes it). */
function filesOf(dbPath: string): { raw: string; gz: string } {
  return { raw: `${dbPath}.upload`, gz: `${dbPath}.upload.gz` };
}

/**
 * A first push by snapshot into a remote dataset that is missing or holds no change: a copy of
 * the replica (one read transaction) stripped to what travels, handed to the transport (a hub
 * receives it gzipped with its sha256, a peer file is replaced by it); the remote makes it a
 * dataset of its own, and our cursors move to the snapshot's position.
 * Returns the changes it moved, or null when the push must go by change stream instead: nothing
 * to send, --no-snapshot, a replica that cannot travel so (say, a CHECK constraint), a remote
 * that takes no snapshots, or one that already holds changes. A cut upload throws (the retry,
 * or the next push, prepares and sends it again).
 */
export async function pushBySnapshot(store: Store, name: string, t: Transport, opts: SyncOptions): Promise<{ sent: number } | null> {
  if (opts.snapshot !== true || dbVersion(store.db) === 0n) return null;
  const f = filesOf(store.path);
  const clean = (): void => {
    for (const p of [f.raw, f.gz]) rmSync(p, { force: true });
  };
  clean();
  try {
    const sealed = sealForUpload(store.db, f.raw);
    if (sealed.problems.length > 0) return null;
    const { site, version, changes } = sealed.position;
    opts.onProgress?.({ phase: 'push', changes: 0, bytes: 0, total: changes });
    let receipt;
    try {
      receipt = await t.uploadSnapshot(f.raw, { site, version }, opts.signal);
    } catch (err) {
      // Someone pushed (or made the dataset) first: our changes go by change stream.
      if (err instanceof CrsyncError && err.code === 'dataset_not_empty') return null;
      throw err;
    }
    if (!receipt) return null;
    if (receipt.dbVersion !== version) {
      throw new CrsyncError('bad_response', `${t.url} made version ${receipt.dbVersion} of a snapshot at version ${version}`, { hint: 'push with --no-snapshot, and check that both sides run compatible crsync versions' });
    }
    finishSnapshotPush(store.db, name, receipt.siteId, version);
    opts.onProgress?.({ phase: 'push', changes, bytes: t.stats.bytesSent, total: changes });
    return { sent: receipt.changes };
  } finally {
    clean();
  }
}

/** A first push by snapshot into `acc` (pushOnce's totals); false when it must go by change stream. */
export async function snapshotInstead(store: Store, name: string, t: Transport, opts: SyncOptions, acc: PushAcc, missing: boolean): Promise<boolean> {
  const r = await pushBySnapshot(store, name, t, opts);
  if (!r) return false;
  acc.created ||= missing;
  acc.sent += r.sent;
  acc.via = 'snapshot';
  return true;
}
