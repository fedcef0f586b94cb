import { CrsyncError } from '../errors.js';

/**
 * Bytes of frames and pages in flight across every request of a hub (`--max-memory`). Each
 * request is bounded on its own (a frame, a page); this bounds their sum, so 40 clients that
 * start large pulls or pushes and stop reading or sending cannot take gigabytes between them.
 * A request that does not fit is answered 503 busy with Retry-After (clients retry by themselves).
 */
export class MemoryBudget {
  private used = 0;
  /** Encoded bytes per change seen in pull pages so far (a pull reserves its pages by it). */
  private bytesPerChange = 256;

  constructor(readonly max: number) {}

  /** Takes `n` bytes if they fit; false when they do not. */
  tryReserve(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }

  /** Takes `n` bytes or throws `busy` (503, Retry-After). */
  reserve(n: number, what: string): void {
    if (!this.tryReserve(n)) throw busyMemory(this.max, what);
  }

  /** Takes `n` bytes whether or not they fit (memory already allocated must be counted). */
  force(n: number): void {
    this.used += n;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  /**
   * What a pull page of `changes` changes is expected to take, encoded; at most a quarter of
   * the budget, so a large page can always start (what it takes beyond that is counted as it
   * is encoded, and holds back the next pulls).
   */
  estimatePage(changes: number): number {
    return Math.min(Math.floor(this.max / 4), Math.max(64 * 1024, Math.ceil(changes * this.bytesPerChange)));
  }

  /** Learns from a page that was encoded. */
  notePage(changes: number, bytes: number): void {
    if (changes >= 100) this.bytesPerChange = 0.8 * this.bytesPerChange + (0.2 * bytes) / changes;
  }
}

export function busyMemory(max: number, what: string): CrsyncError {
  return new CrsyncError('busy', `the hub has its maximum of ${max} bytes in flight; ${what} must wait`, {
    hint: 'try again shortly (crsync retries by itself); the operator can raise crsync serve --max-memory',
  });
}
