import type { PoolClient } from 'pg';
import type { Cursor, Page } from '../../sync/protocol/types.js';
import { DEFAULT_PAGE_BYTES, PageCutter } from '../../db/changes/stream.js';
import type { PageStream } from '../dataset-store.js';
import { readPage } from './stream.js';
import { storeError } from './pool.js';

/**
 * The pages of one pull, cut exactly as src/db/changes/stream.ts readPages cuts them on a SQLite
 * hub (at most `pageSize` changes and DEFAULT_PAGE_BYTES each, the last page's cursor at the end
 * of the newest version), so both stores send the same pages for the same history. Reads run
 * on `c` inside the pull's REPEATABLE READ transaction: one snapshot, which holds only
 * committed, gap-free versions (a push assigns its version under the dataset's row lock).
 * `newest` is the dataset's version in that snapshot.
 */
async function* cutPages(c: PoolClient, dataset: bigint, since: Cursor, exclude: Uint8Array, pageSize: number, newest: bigint): AsyncGenerator<Page> {
  const pages = new PageCutter(since, pageSize, DEFAULT_PAGE_BYTES);
  for (let from = since; ; from = pages.position) {
    const batch = await readPage(c, dataset, from, exclude, pageSize);
    for (const row of batch) yield* pages.add(row);
    if (batch.length < pageSize) break;
  }
  yield* pages.end(newest);
}

/**
 * A pull's pages on its own connection, in an open REPEATABLE READ transaction: the connection
 * goes back to the pool when the pages end, fail, or the pull stops early (`return()`, also
 * before the first page). A connection that failed is dropped, not reused.
 */
export class PgPages implements PageStream {
  private done = false;
  private readonly pages: AsyncGenerator<Page>;

  constructor(
    private readonly c: PoolClient,
    dataset: bigint,
    since: Cursor,
    exclude: Uint8Array,
    pageSize: number,
    newest: bigint,
  ) {
    this.pages = cutPages(c, dataset, since, exclude, pageSize, newest);
  }

  [Symbol.asyncIterator](): PageStream {
    return this;
  }

  async next(): Promise<IteratorResult<Page>> {
    if (this.done) return { done: true, value: undefined };
    try {
      const r = await this.pages.next();
      if (r.done) await this.finish();
      return r;
    } catch (err) {
      await this.finish(err);
      throw storeError(err);
    }
  }

  async return(): Promise<IteratorResult<Page>> {
    await this.finish();
    return { done: true, value: undefined };
  }

  private async finish(failed?: unknown): Promise<void> {
    if (this.done) return;
    this.done = true;
    let broken = failed;
    if (!broken) await this.c.query('COMMIT').catch((e: unknown) => (broken = e));
    this.c.release(broken ? (broken instanceof Error ? broken : new Error(String(broken))) : undefined);
  }
}
