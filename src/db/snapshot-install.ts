import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, renameSync, rmSync, statSync } from 'node:fs';
import { CrsyncError } from '../errors.js';
import { adoptUpload, replaceProblem, type AdoptedUpload } from './snapshot-upload.js';
import { openStore } from './store.js';

/**
 * A first push by snapshot into a peer file (a file remote): the pusher's sealed copy
 * (sealForUpload) becomes the file, with the identity a hub would give it (adoptUpload): a fresh
 * site id, the pusher's writes under the pusher's id, the pusher's stream recorded as received.
 */

function notEmpty(target: string, why: string): CrsyncError {
  return new CrsyncError('dataset_not_empty', `${target} cannot take a snapshot: ${why}`, { hint: 'push its change stream instead (crsync does so by itself)' });
}

/**
 * Why the replica at `target` may not be replaced by the copy (null: it may): it holds changes,
 * conflicts or resolutions, a schema the copy lacks, or another process has it open. The last is
 * seen by its WAL: a replica's connections keep `<target>-wal` while any is open, and ours, the
 * last, removes it when it closes.
 */
function targetProblem(target: string, copy: string): string | null {
  const store = openStore(target);
  let why: string | null;
  try {
    why = replaceProblem(store.db, copy);
  } finally {
    store.close();
  }
  if (why === null && existsSync(`${target}-wal`)) why = 'another process has it open';
  return why;
}

/**
 * Makes the sealed copy the replica at `target`, which is missing or holds no change yet
 * (otherwise dataset_not_empty, and `target` is left as it was). `sealed` is consumed. The file
 * appears whole: it is moved beside `target`, adopted there and linked (a missing target) or
 * renamed (an empty one) into place, so a file under that name is always a whole replica.
 * `bytes`: the file's size.
 */
export function installUpload(sealed: string, target: string, pusher: { site: Buffer; version: bigint }): AdoptedUpload & { bytes: number } {
  // Made beside the target: a link or rename into place never crosses file systems.
  const copy = `${target}.upload-${randomBytes(6).toString('hex')}`;
  try {
    // Checked before the adoption (seconds for a big copy) and again before the rename.
    const before = existsSync(target) ? targetProblem(target, sealed) : null;
    if (before) throw notEmpty(target, before);
    moveFile(sealed, copy);
    const adopted = { ...adoptUpload(copy, pusher), bytes: statSync(copy).size };
    if (!existsSync(target)) {
      try {
        linkSync(copy, target);
        return adopted;
      } catch (err) {
        // Made meanwhile (another push): it is replaced only if it is still empty.
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
    }
    const why = targetProblem(target, copy);
    if (why) throw notEmpty(target, why);
    renameSync(copy, target);
    return adopted;
  } finally {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(copy + suffix, { force: true });
    rmSync(sealed, { force: true });
  }
}

/** Renames `from` to `to`, or copies it when they are on different file systems. */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EXDEV') throw err;
    copyFileSync(from, to);
    rmSync(from, { force: true });
  }
}
