import { describe, expect, it } from 'vitest';
import { makeReplica, ok, sql } from './sync-helpers.js';
import { STORES, storeSandbox } from './store-helpers.js';

const tmp = storeSandbox('crsync-big-values-');
// Random bytes: each row's length and its first and last 32 bytes tell copies apart.
const DIGEST =
  "select count(*) as n, sum(length(data)) as bytes, group_concat(id || ':' || hex(substr(data, 1, 32)) || hex(substr(data, -32)), ',') as h from (select * from t order by id)";
const MiB = 1024 * 1024;

describe('pages are cut by bytes as well as by rows', () => {
  it.each(STORES)('big blobs push and clone with the default page size against a hub on %s with a small frame limit', async (kind) => {
    // 40 rows of 512 KiB: 20 MiB in what would be one page of the default 2000 rows, over the
    // hub's 8 MiB frames; and one value as big as the hub's value limit, which must still fit.
    const h = await tmp.hub(kind, { extra: ['--max-frame', '8MiB', '--max-value', '6MiB'] });
    const a = tmp.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, data blob)');
    await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 40) insert into t select i, randomblob(${MiB / 2}) from s`);
    await sql(a, `insert into t values (41, randomblob(${6 * MiB - 64}))`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/photos`]);

    const pushed = await ok(['-d', a, 'push', '--create']);
    expect(pushed.sent).toBe(41);
    const b = tmp.path('b.db');
    await ok(['clone', `${h.url}/photos`, b]);
    const want = await ok<unknown[]>(['-d', a, 'sql', DIGEST]);
    expect(want).toMatchObject([{ n: 41, bytes: 40 * (MiB / 2) + 6 * MiB - 64 }]);
    expect(await ok<unknown[]>(['-d', b, 'sql', DIGEST])).toEqual(want);
    if (kind === 'sqlite') expect(await ok<unknown[]>(['-d', tmp.path('hub/photos.db'), 'sql', DIGEST])).toEqual(want);
  });
});
