import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { CrsyncError } from '../../errors.js';

/** True when a process with this id runs (signal 0 only asks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the one live-sync lock of a replica file: `<file>.crsync-watch` holding the pid of the
 * watcher. A lock left by a process that no longer runs is taken over. Returns its release.
 */
export function acquireWatchLock(dbPath: string, pid: number): () => void {
  const lock = `${resolve(dbPath)}.crsync-watch`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (Number(readFileSync(lock, 'utf8')) === pid) unlinkSync(lock);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: number;
    try {
      holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    } catch {
      continue; // released meanwhile
    }
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new CrsyncError('watch_running', `${resolve(dbPath)} is already synced live by process ${holder}`, {
        hint: `one watcher per file: stop process ${holder} first (its lock is ${lock})`,
        details: { pid: holder, lock },
      });
    }
    try {
      unlinkSync(lock); // its holder is gone
    } catch {
      // someone else took it over first: try again
    }
  }
  throw new CrsyncError('watch_running', `cannot take the live-sync lock ${lock}`, { hint: 'another watcher is starting on this file' });
}
