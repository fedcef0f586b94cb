import { closeSync, openSync } from 'node:fs';
import { CrsyncError, isDiskFull } from '../errors.js';

/** Error codes and messages, along an error's cause chain, of running out of descriptors or disk. */
function causes(err: unknown): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    out.push({ code: String(e.code ?? ''), message: String(e.message ?? '') });
  }
  return out;
}

/**
 * The error a client should see when the hub ran out of file descriptors (503 hub_busy: it may
 * pass) or of disk (507 disk_full: the operator must act), or undefined for any other error.
 * SQLite and the extension loader report these through their own messages ("unable to open
 * database file", "cannot open shared object file: Too many open files"), so both are read.
 */
export function resourceError(err: unknown): CrsyncError | undefined {
  const all = causes(err);
  if (all.some((c) => c.code === 'EMFILE' || c.code === 'ENFILE' || /too many open files/i.test(c.message)) || (all.some((c) => c.code.startsWith('SQLITE_CANTOPEN')) && outOfDescriptors())) {
    return new CrsyncError('hub_busy', 'the hub has run out of file descriptors', {
      hint: 'try again shortly; the operator can raise the descriptor limit (ulimit -n) or lower --max-datasets',
    });
  }
  if (isDiskFull(err)) {
    // A push keeps the pages committed before the disk filled: only the rest is lost.
    return new CrsyncError('disk_full', 'the hub\'s disk is full: the request stopped, and nothing it had not committed was kept', {
      hint: 'the operator must free space on the hub\'s --dir; run the command again afterwards: it resumes from what was committed',
    });
  }
  return undefined;
}

/** SQLite says only "unable to open database file": whether a descriptor can be had at all tells why. */
function outOfDescriptors(): boolean {
  try {
    closeSync(openSync('/dev/null', 'r'));
    return false;
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'EMFILE' || code === 'ENFILE';
  }
}

/** How many datasets a hub may hold (`--max-datasets`): counted from its store at start. */
export class DatasetQuota {
  constructor(
    private count: number,
    readonly max: number,
  ) {}

  /** Throws unless one more dataset fits. */
  check(name: string): void {
    if (this.count >= this.max) {
      throw new CrsyncError('dataset_limit', `the hub holds its maximum of ${this.max} datasets; ${name} was not created`, {
        hint: 'use an existing dataset, or the operator can raise crsync serve --max-datasets',
      });
    }
  }

  /** Counts a dataset just created. */
  created(): void {
    this.count++;
  }
}
