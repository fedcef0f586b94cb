import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { CrsyncError } from '../../errors.js';
import { sealForUpload } from '../../db/snapshot-upload.js';
import { finishSnapshotPush } from '../../db/state/clone.js';
import { dbVersion, type Store } from '../../db/store.js';
import { hashTap } from '../protocol/hash-tap.js';
import type { Transport } from '../transports/transport.js';
import type { PushAcc, SyncOptions } from './engine.js';

/** Files of an upload being prepared next to the replica: the sealed copy, then its gzip. */
function filesOf(dbPath: string): { raw: string; gz: string } {
  return { raw: `${dbPath}.upload`, gz: `${dbPath}.upload.gz` };
}

/**
 * A first push by snapshot into a remote dataset that is missing or holds no change: a copy of
 * the replica (one read transaction) stripped to what travels, gzipped with its sha256, uploaded;
 * the remote makes it a dataset of its own, and our cursors move to the snapshot's position.
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
    const tap = hashTap();
    await pipeline(createReadStream(f.raw), tap.stream, createGzip({ level: 6 }), createWriteStream(f.gz));
    rmSync(f.raw, { force: true });
    const { site, version, changes } = sealed.position;
    opts.onProgress?.({ phase: 'push', changes: 0, bytes: 0, total: changes });
    let receipt;
    try {
      receipt = await t.uploadSnapshot(f.gz, { site, version, size: tap.bytes, sha256: tap.digest() }, opts.signal);
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
