/** How long a burst of commits is collected before waiters are woken (one wake per burst). */
export const COLLAPSE_MS = 5;

/**
 * Wakes the live pulls waiting on one dataset after its commits. A commit schedules one wake
 * `COLLAPSE_MS` later; commits inside that window ride along, so a push of many pages wakes each
 * waiter a few times, not once a page.
 */
export class ChangeNotifier {
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  /** A commit landed. */
  notify(): void {
    if (this.timer || this.waiters.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const woken = [...this.waiters];
      this.waiters.clear();
      for (const wake of woken) wake();
    }, COLLAPSE_MS);
  }

  /** Resolves true at the next (collapsed) commit, false after `ms` or when `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const end = (changed: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiters.delete(onCommit);
        resolve(changed);
      };
      const onCommit = (): void => end(true);
      const onAbort = (): void => end(false);
      const timer = setTimeout(() => end(false), ms);
      this.waiters.add(onCommit);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Live pulls waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const wake of woken) wake();
  }
}
