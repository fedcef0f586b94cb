import type { IncomingMessage } from 'node:http';
import { CrsyncError } from '../errors.js';
import type { DatasetStore } from './dataset-store.js';
import type { DatasetQuota } from './resources.js';
import { findGrant, type TokenGrant, type TokenTable } from './tokens.js';

/** Who may do what on a hub: tokens (docs/security.md), dataset creation and the dataset list. */
export class HubAccess {
  constructor(
    private readonly tokens: TokenTable | null,
    private readonly store: DatasetStore,
    private readonly quota: DatasetQuota,
  ) {}

  /** The request's grant (null on a hub without tokens); unauthenticated without a known token. */
  private grantOf(req: IncomingMessage): TokenGrant | null {
    if (!this.tokens) return null;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new CrsyncError('unauthenticated', 'a token is required', { hint: 'send Authorization: Bearer <token>' });
    const grant = findGrant(this.tokens, m[1]!);
    if (!grant) throw new CrsyncError('unauthenticated', 'unknown token');
    return grant;
  }

  /** Checks the request's token for dataset `name` (and the write right); returns its grant. */
  authorize(req: IncomingMessage, name: string, write: boolean): TokenGrant | null {
    const grant = this.grantOf(req);
    if (!grant) return null;
    if (grant.datasets && !grant.datasets.has(name)) throw new CrsyncError('forbidden', `the token may not use dataset ${name}`);
    if (write && !grant.write) throw new CrsyncError('forbidden', 'the token is read-only');
    return grant;
  }

  /** Refuses to create dataset `name` beyond --max-datasets, or for a token without the right; true when it is new. */
  async mayCreate(name: string, grant: TokenGrant | null): Promise<boolean> {
    if (await this.store.exists(name)) return false;
    if (this.tokens?.createRestricted && !grant?.create) {
      throw new CrsyncError('forbidden', `the token may not create datasets (${name} does not exist)`, { hint: 'creating a dataset takes a token with the create or admin right' });
    }
    this.quota.check(name);
    return true;
  }

  /** GET /v1/datasets: the datasets of this hub that the request's token may use. */
  async listDatasets(req: IncomingMessage): Promise<{ name: string; bytes: number }[]> {
    const grant = this.grantOf(req);
    return (await this.store.list()).filter((d) => !grant?.datasets || grant.datasets.has(d.name));
  }
}
