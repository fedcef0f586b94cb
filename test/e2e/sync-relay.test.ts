import { describe, expect, it } from 'vitest';
import { expectQuiet, expectSameRows, makeReplica, ok, rows, sandbox, sql } from './sync-helpers.js';

const tmp = sandbox('crsync-relay-');

describe('sync without a hub, and through several', () => {
  it('two database files sync peer to peer with no server', async () => {
    const [a, b, c] = [tmp.path('a.db'), tmp.path('b.db'), tmp.path('c.db')];
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 0.25, x'01'), (2, 'two', 2, null, null)");
    const cloned = await ok<{ received: number; siteId: string }>(['clone', a, b]);
    expect(cloned.received).toBe(8);
    await ok(['-d', a, 'remote', 'add', 'peer', `file:${b}`]);

    await sql(a, "update t set name = 'one-a' where id = 1; insert into t values (3, 'three', 3, 3.5, null)");
    await sql(b, "update t set qty = 20 where id = 2; delete from t where id = 1; insert into t values (4, 'four', 4, null, x'04')");
    const r = await ok(['-d', a, 'sync', 'peer']);
    // B's update, its delete (one sentinel) and its insert (four cells).
    expect(r).toMatchObject({ remote: 'peer', received: 6 });
    // A's insert; its update of row 1 lost to B's delete when A pulled first.
    expect(r.sent).toBe(4);
    // A already pushed its edits into B's file and has B's: nothing is asked or sent twice.
    expect(await ok(['-d', b, 'sync'])).toMatchObject({ sent: 0, received: 0 });

    const expected = await expectSameRows([a, b]);
    expect((expected as { id: number }[]).map((x) => x.id)).toEqual([2, 3, 4]);
    // A third file cloned from the second, by path: same rows.
    await ok(['clone', b, c]);
    expect(await rows(c)).toEqual(expected);
    await expectQuiet([a], 'peer');
    await expectQuiet([c]);
  });

  it('a middle replica relays between two hubs and nothing echoes back', async () => {
    const [h1, h2] = [await tmp.hub('hub1'), await tmp.hub('hub2')];
    const [a, m, c] = [tmp.path('a.db'), tmp.path('m.db'), tmp.path('c.db')];
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'from a', 1, 1.25, x'0a'), (2, 'also a', 2, null, null)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h1.url}/data`]);
    await ok(['-d', a, 'push', '--create']);

    await ok(['clone', `${h1.url}/data`, m]);
    await ok(['-d', m, 'remote', 'add', 'hub2', `${h2.url}/data`]);
    expect((await ok(['-d', m, 'push', '--create', 'hub2'])).sent).toBe(8);
    await ok(['clone', `${h2.url}/data`, c]);
    await expectSameRows([a, c]);

    // No echo: M's second sync with either hub moves nothing.
    await expectQuiet([m], 'hub2');
    await expectQuiet([m], 'origin');

    // And back: C's edit reaches A through M, and is not sent back to hub2.
    await sql(c, "update t set name = 'from c' where id = 1; insert into t values (3, 'c row', 3, 3.0, null)");
    await ok(['-d', c, 'push']);
    expect((await ok(['-d', m, 'pull', 'hub2'])).received).toBe(5);
    expect((await ok(['-d', m, 'push', 'origin'])).sent).toBe(5);
    await ok(['-d', a, 'pull']);
    await expectSameRows([c, a, m, tmp.path('hub1/data.db'), tmp.path('hub2/data.db')]);
    await expectQuiet([m], 'hub2');
    await expectQuiet([m, a, c]);
  });
});
