import { CrsyncError } from '../errors.js';
import type { Cursor, Page } from '../sync/protocol/types.js';

/** A push naming a site another token owns (403). */
export function siteOwned(site: Uint8Array): CrsyncError {
  return new CrsyncError('site_owned', `site ${Buffer.from(site).toString('hex')} belongs to another token on this hub`, {
    hint: 'each replica pushes as its own site id; a copied database file shares its site id: use `crsync clone` to make a new replica',
  });
}

/**
 * Refuses a page whose cursor jumps further than its changes can justify. A page's cursor may
 * pass the sender's versions it leaves out (changes it merged from this hub, which are not sent
 * back), but there cannot be more of those than this hub has versions: each of them merged at
 * least one version of ours. Without this a push with an empty page and a huge cursor moved a
 * site's resume point, and that site's next push skipped its new rows. `from` is where the
 * site's stream stood before the page.
 */
export function checkPageCursor(page: Page, from: Cursor, hubVersion: bigint): void {
  let top = from.version;
  for (const c of page.changes) if (c[5] > top) top = c[5];
  const limit = top + hubVersion + 1n;
  if (page.cursor.version > limit) {
    throw new CrsyncError('cursor_ahead', `a page's cursor (version ${page.cursor.version}) is beyond what its changes and this hub's ${hubVersion} versions can account for`, {
      hint: 'the pushing replica sent a cursor no crsync client produces',
    });
  }
}
