import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { call } from './hostile-helpers.js';
import { makeReplica, ok, peek, sandbox, sql } from './sync-helpers.js';

// What one client can do to another's standing on the hub (issue 14): a GET writes nothing, a
// site id belongs to whoever first pushed as it, and conflict records from clients are checked.

const tmp = sandbox('crsync-hostile-sites-');

/** A hub with dataset shop pushed by a.db, and b.db cloned from it. */
async function twoReplicas(extra: string[] = [], env: Record<string, string> = {}) {
  const h = await tmp.hub('hub', extra);
  const a = tmp.path('a.db');
  const b = tmp.path('b.db');
  await makeReplica(a);
  await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
  await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`], env);
  await ok(['-d', a, 'push'], env);
  await ok(['clone', `${h.url}/shop`, b], env);
  const siteOf = (db: string) => (peek(db, 'select hex(site_id) from crsql_site_id where ordinal = 0') as string).toLowerCase();
  return { h, a, b, hubFile: tmp.path('hub/shop.db'), siteOf };
}

describe('a GET never writes hub state', () => {
  it('pulls naming another site or random sites move no "seen" position and add no peer row; conflicts are still found', async () => {
    const { h, a, b, hubFile, siteOf } = await twoReplicas();
    const peers = () => peek(hubFile, 'select count(*) from crsync_peers');
    const seenOf = (site: string) => peek(hubFile, 'select seen_version from crsync_peers where site_id = ?', Buffer.from(site, 'hex'));
    await sql(a, "update t set name = 'from a' where id = 1");
    await ok(['-d', a, 'push']);
    const before = { peers: peers(), seenB: seenOf(siteOf(b)) };
    const version = (await call(`${h.url}/v1/datasets/shop`)).json.dbVersion as string;
    // B's pull position claimed by someone else, and 50 pulls with made-up sites.
    const r = await call(`${h.url}/v1/datasets/shop/changes?site=${siteOf(b)}&since=${version}&count=1`);
    expect(r.status).toBe(200);
    const { request } = await import('undici');
    for (const site of [siteOf(b), ...Array.from({ length: 50 }, () => randomBytes(16).toString('hex'))]) {
      const res = await request(`${h.url}/v1/datasets/shop/changes?site=${site}&since=${version}`);
      expect(res.statusCode).toBe(200);
      await res.body.arrayBuffer();
    }
    expect({ peers: peers(), seenB: seenOf(siteOf(b)) }).toEqual(before);
    // B's concurrent edit of the same cell is still a recorded conflict (it lost silently).
    await sql(b, "update t set name = 'from b' where id = 1");
    const sync = await ok(['-d', b, 'sync']);
    expect(sync.conflicts).toBeGreaterThan(0);
  });
});
