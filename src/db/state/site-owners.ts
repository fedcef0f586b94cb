import type { Db } from '../store.js';

/*
 * Which token owns a site id on a hub dataset: the first one that pushed as it. A push naming a
 * site owned by another token is refused, so no client can move another site's resume point
 * (and so make its next push skip changes). Owners are stored as digests, never as tokens.
 */

function ensure(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS crsync_site_owners (
    site_id BLOB PRIMARY KEY NOT NULL,
    owner BLOB NOT NULL,
    bound_at TEXT NOT NULL
  )`);
}

/** Binds `site` to `owner` if it is unbound; returns true when `owner` owns it (now or before). */
export function claimSite(db: Db, site: Uint8Array, owner: Uint8Array): boolean {
  ensure(db);
  db.prepare('INSERT OR IGNORE INTO crsync_site_owners (site_id, owner, bound_at) VALUES (?, ?, ?)').run(site, owner, new Date().toISOString());
  const found = db.prepare('SELECT owner FROM crsync_site_owners WHERE site_id = ?').pluck().get(site) as Buffer;
  return Buffer.from(owner).equals(found);
}
