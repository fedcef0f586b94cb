import Database from 'better-sqlite3';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { CrsyncError } from '../errors.js';

/** Options of `watchCommits`. */
export interface CommitWatchOptions {
  /** Called once per burst of commits by any connection or process (our own included). */
  onCommit: () => void;
  /** The file was deleted or replaced: nothing more will be noticed. Watching has stopped. */
  onGone: (err: CrsyncError) => void;
  /** How often `PRAGMA data_version` is asked without a file event (default 2 s). */
  pollMs?: number;
}

/** Debounce after a file event: a transaction writes the WAL many times before it commits. */
const SETTLE_MS = 5;
/** A second look after a burst, in case the first came between the last WAL write and its commit. */
const RECHECK_MS = 100;

/**
 * Notices commits to a replica file, whoever makes them: `PRAGMA data_version` on a connection of
 * its own changes with every commit of any other connection. It is asked when the WAL file
 * changes (fs.watch), and every `pollMs` as a fallback (a platform without file events, a WAL
 * not there yet): no busy polling. The poll also notices the file deleted or replaced.
 */
export function watchCommits(dbPath: string, opts: CommitWatchOptions): { close(): void } {
  const path = resolve(dbPath);
  const inode = statSync(path).ino;
  const conn = new Database(path, { readonly: true, fileMustExist: true });
  const version = conn.prepare('PRAGMA data_version').pluck();
  let last = version.get() as number;
  let watcher: FSWatcher | undefined;
  let settle: NodeJS.Timeout | undefined;
  let recheck: NodeJS.Timeout | undefined;
  let closed = false;

  const check = (): void => {
    if (closed) return;
    let now: number;
    try {
      now = version.get() as number;
    } catch (err) {
      gone(new CrsyncError('replica_gone', `${path} cannot be read any more: ${(err as Error).message}`, { hint: 'restart the watcher once the file is back' }));
      return;
    }
    if (now !== last) {
      last = now;
      opts.onCommit();
    }
  };
  const onEvent = (): void => {
    if (settle) return;
    settle = setTimeout(() => {
      settle = undefined;
      check();
      clearTimeout(recheck);
      recheck = setTimeout(check, RECHECK_MS);
    }, SETTLE_MS);
  };
  const startWatching = (): void => {
    if (watcher || closed) return;
    try {
      watcher = watch(`${path}-wal`, { persistent: false }, onEvent);
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined; // no WAL yet: the poll looks, and tries again
    }
  };
  const gone = (err: CrsyncError): void => {
    close();
    opts.onGone(err);
  };
  const poll = setInterval(() => {
    let ino: number | undefined;
    try {
      ino = statSync(path).ino;
    } catch {
      ino = undefined;
    }
    if (ino !== inode) {
      gone(new CrsyncError('replica_gone', `${path} was ${ino === undefined ? 'deleted' : 'replaced by another file'} while watched`, {
        hint: 'the watcher stopped and wrote nothing to the file now at that path; start it again on the file you mean',
      }));
      return;
    }
    startWatching();
    check();
  }, opts.pollMs ?? 2000);
  poll.unref();
  startWatching();

  function close(): void {
    if (closed) return;
    closed = true;
    clearInterval(poll);
    clearTimeout(settle);
    clearTimeout(recheck);
    watcher?.close();
    conn.close();
  }
  return { close };
}
