import type { Page } from '../sync/protocol/types.js';
import type { PageStream } from './dataset-store.js';

/**
 * A pull's pages from its reader connection; the reader goes back to the pool when the pages
 * end, fail, or the pull stops early (`return()`, also before the first page).
 */
export class ReaderPages implements PageStream {
  private done = false;

  constructor(
    private readonly pages: Generator<Page>,
    private readonly release: () => void,
  ) {}

  [Symbol.asyncIterator](): PageStream {
    return this;
  }

  async next(): Promise<IteratorResult<Page>> {
    if (this.done) return { done: true, value: undefined };
    try {
      const r = this.pages.next();
      if (r.done) this.finish();
      return r;
    } catch (err) {
      this.finish();
      throw err;
    }
  }

  async return(): Promise<IteratorResult<Page>> {
    try {
      // Ends the read transaction of a stream stopped half-way.
      if (!this.done) this.pages.return(undefined);
    } finally {
      this.finish();
    }
    return { done: true, value: undefined };
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.release();
  }
}
