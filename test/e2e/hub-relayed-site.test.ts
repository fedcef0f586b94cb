import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { call, pushBody } from './hostile-helpers.js';
import { FRAMES_MEDIA_TYPE } from '../../src/sync/protocol/types.js';
import { bulkInsert, makeReplica, ok, peek, rows, sandbox, sql } from './sync-helpers.js';

// Echo suppression is by who delivered a change, not by the site id it carries: a change that
// names site B but reached the hub from someone else still reaches B, so B converges.
const tmp = sandbox('crsync-relayed-site-');

describe('a change carrying another site id', () => {
  it('reaches the site it names, and its status is not in sync until it has it', async () => {
    const h = await tmp.hub();
    const a = tmp.path('a.db');
    const b = tmp.path('b.db');
    await makeReplica(a);
    await sql(a, "insert into t (id, name) values (1, 'one')");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    await ok(['clone', `${h.url}/shop`, b]);
    const siteB = Buffer.from(peek(b, 'select hex(site_id) from crsql_site_id where ordinal = 0') as string, 'hex');

    // Another client (its own site id) delivers a change attributed to B, newer than the cell.
    const other = randomBytes(16);
    const body = pushBody(other, [['t', Buffer.from('010901', 'hex'), 'name', 'relayed', 5n, 1n, siteB, 1n, 0n]]);
    const r = await call(`${h.url}/v1/datasets/shop/changes`, { method: 'POST', body, headers: { 'content-type': FRAMES_MEDIA_TYPE } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(await rows(tmp.path('hub/shop.db'), 'select name from t')).toEqual([{ name: 'relayed' }]);

    // B has not got it: status says so, and a pull brings it.
    const st = await ok<{ remotes: { unpulled: number }[]; inSync: boolean }>(['-d', b, 'status']);
    expect(st.remotes[0]!.unpulled).toBe(1);
    expect(st.inSync).toBe(false);
    expect(await ok(['-d', b, 'pull'])).toMatchObject({ received: 1 });
    expect(await rows(b, 'select name from t')).toEqual([{ name: 'relayed' }]);
    expect(await ok(['-d', a, 'pull'])).toMatchObject({ received: 1 });
    expect(await rows(a, 'select name from t')).toEqual([{ name: 'relayed' }]);
  });
});

describe('a push whose stream passed many merged versions', () => {
  it('is taken, though its cursor is beyond the hub\'s version count (one hub version pulled as many pages)', async () => {
    const h = await tmp.hub();
    const a = tmp.path('a.db');
    const b = tmp.path('b.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    await ok(['clone', `${h.url}/shop`, b]);
    // One hub version of 6,000 changes; b has a write of its own waiting when it pulls them.
    await sql(a, bulkInsert(3000));
    await ok(['-d', a, 'push', '--page-size', '100000']);
    await sql(b, "insert into t (id, name) values (100000, 'from b')");
    expect(await ok(['-d', b, 'pull', '--page-size', '100'])).toMatchObject({ received: 6000 });
    expect(await ok(['-d', b, 'push'])).toMatchObject({ sent: 2 }); // name and qty
    expect(await ok(['-d', a, 'pull'])).toMatchObject({ received: 2 });
    expect(await rows(a, "select name from t where id = 100000")).toEqual([{ name: 'from b' }]);
  });
});
