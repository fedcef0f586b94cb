import type { ServerResponse } from 'node:http';
import { CrsyncError } from '../errors.js';
import type { Cursor } from '../sync/protocol/types.js';
import { BUSY_RETRY_AFTER_S } from './connections.js';
import type { Dataset } from './dataset-store.js';

/**
 * The hub's live pulls (long-poll): a pull with `wait=<ms>` that has nothing to carry is held
 * until its dataset commits something or the wait ends, then answered as an ordinary pull.
 * Holding costs no reader connection and no timer beyond the wait's own; the number held at
 * once is capped, and shutdown releases them all at once.
 */
export class LivePulls {
  private held = 0;
  private readonly stopping = new AbortController();

  constructor(private readonly max: number) {}

  /** Holds until `d` has something after `since` (or conflicts after `conflictsAfter`), `ms` pass, the client goes, or the hub stops. */
  async hold(d: Dataset, since: Cursor, conflictsAfter: bigint | undefined, ms: number, res: ServerResponse): Promise<void> {
    if (this.held >= this.max) {
      res.setHeader('retry-after', String(BUSY_RETRY_AFTER_S));
      throw new CrsyncError('busy', `the hub holds its maximum of ${this.max} live pulls`, {
        hint: 'try again shortly (crsync sync --watch retries by itself); the operator can raise crsync serve --max-live',
      });
    }
    this.held++;
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    res.once('close', onClose);
    try {
      await d.waitForChange(since, conflictsAfter, ms, AbortSignal.any([gone.signal, this.stopping.signal]));
    } finally {
      this.held--;
      res.off('close', onClose);
    }
  }

  /** Live pulls held now. */
  get count(): number {
    return this.held;
  }

  /** Hub shutdown: every held pull answers now (with what there is), and none is held again. */
  release(): void {
    this.stopping.abort();
  }
}
