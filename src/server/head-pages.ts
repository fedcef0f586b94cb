import { headPageFor, readHeadPage } from '../db/changes/head.js';
import { dbVersion } from '../db/store.js';
import type { ServedReplica } from '../sync/endpoint.js';
import type { Cursor, Page } from '../sync/protocol/types.js';
import type { PageStream } from './dataset-store.js';

/** How far behind the dataset's version a pull may start and still be answered from the head. */
const HEAD_VERSIONS = 16n;

/** A PageStream over pages already in memory. */
async function* held(pages: Page[]): PageStream {
  yield* pages;
}

/**
 * Pulls near the head of one dataset's stream, answered from one read. A commit wakes every
 * held live pull at once, and they all ask from the same cursor: the stream after it is read
 * once, on the writing connection (no reader connection taken), and each site's answer is that
 * page with what the site delivered left out. The read is kept until the dataset's version or
 * schema moves, or `invalidate()` (each commit through this hub).
 */
export class HeadPages {
  private key = '';
  /** The read at `key`: its one page, null (nothing to send) or undefined (more than a page). */
  private page: Page | null | undefined;

  constructor(private readonly served: ServedReplica) {}

  /** The pages of a pull from `since` for `site`, or undefined when it is not near the head (read it as usual). */
  pull(site: Uint8Array, since: Cursor, pageSize: number): PageStream | undefined {
    const db = this.served.db;
    const version = dbVersion(db);
    if (since.version > version || version - since.version > HEAD_VERSIONS) return undefined;
    const key = `${since.version}.${since.seq}.${pageSize}.${version}.${this.served.schemaCookie()}`;
    if (key !== this.key) {
      this.page = readHeadPage(db, since, pageSize);
      this.key = key;
    }
    if (this.page === undefined) return undefined;
    if (this.page === null) return held([]);
    const mine = headPageFor(db, site, since, this.page);
    return mine ? held([mine]) : undefined;
  }

  /** Forgets the read (a commit landed). */
  invalidate(): void {
    this.key = '';
    this.page = undefined;
  }
}
