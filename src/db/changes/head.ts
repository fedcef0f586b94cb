import type { Cursor, Page } from '../../sync/protocol/types.js';
import type { Db } from '../store.js';
import { deliveredAfter } from './delivered.js';
import { readPages } from './stream.js';

/**
 * The whole stream after `since` as one page, unfiltered (what every site's pull from `since`
 * carries before its own deliveries are left out): null when there is nothing to send, undefined
 * when it takes more than one page (then each pull reads its own). Read in one go, so it may run
 * on a connection that also writes: no other statement of it runs in between.
 */
export function readHeadPage(db: Db, since: Cursor, pageSize: number): Page | null | undefined {
  if (db.inTransaction) return undefined;
  const pages = readPages(db, since, pageSize);
  try {
    const first = pages.next();
    if (first.done) return null;
    return pages.next().done ? first.value : undefined;
  } finally {
    pages.return(undefined);
  }
}

/**
 * `page` (from readHeadPage at `since`) as the pull of `site` carries it: the versions that site
 * delivered left out, the cursor kept (readPages ends a filtered stream at the same place). The
 * same object when the site delivered nothing there; undefined when it delivered too many runs
 * to list (then it reads its own, filtered in SQL).
 */
export function headPageFor(db: Db, site: Uint8Array, since: Cursor, page: Page): Page | undefined {
  const ranges = deliveredAfter(db, site, since.version);
  if (!ranges) return undefined;
  if (ranges.size === 0) return page;
  return { changes: page.changes.filter((c) => !ranges.has(c[5])), cursor: page.cursor };
}
