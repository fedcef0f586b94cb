import { CrsyncError } from '../errors.js';

/** A push naming a site another token owns (403). */
export function siteOwned(site: Uint8Array): CrsyncError {
  return new CrsyncError('site_owned', `site ${Buffer.from(site).toString('hex')} belongs to another token on this hub`, {
    hint: 'each replica pushes as its own site id; a copied database file shares its site id: use `crsync clone` to make a new replica',
  });
}
