import { describe, expect, it } from 'vitest';
import { expectQuiet, expectSameRows, makeReplica, ok, sandbox, sql, type TransferJson } from './sync-helpers.js';

const tmp = sandbox('crsync-converge-');

/** Runs push, pull or sync on each replica, one after the other. */
async function inOrder(...steps: [db: string, verb: 'push' | 'pull' | 'sync'][]): Promise<void> {
  for (const [db, verb] of steps) await ok(['-d', db, verb]);
}

describe('convergence through a hub', () => {
  it('three replicas with concurrent offline inserts, updates and deletes end identical, hub file included', async () => {
    const h = await tmp.hub();
    const [a, b, c] = [tmp.path('a.db'), tmp.path('b.db'), tmp.path('c.db')];
    await makeReplica(a);
    await sql(a, `insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, 2.0, null), (3, 'three', 3, null, x''),
      (4, 'four', 9223372036854775807, 0.1, x'ff00'), (5, 'five', -5, -2.5e-300, null)`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
    const first = await ok<TransferJson & { created: boolean }>(['-d', a, 'push', '--create']);
    expect(first).toMatchObject({ remote: 'origin', received: 0, created: true });
    expect(first.sent).toBe(20);
    for (const key of ['remote', 'sent', 'received', 'bytes', 'ms']) expect(first).toHaveProperty(key);
    expect((await ok(['clone', `${h.url}/shop`, b])).received).toBe(20);
    await ok(['clone', `${h.url}/shop`, c]);

    // Offline edits, overlapping on purpose.
    await sql(a, "update t set name = 'one-a' where id = 1; insert into t values (10, 'ten-a', 10, 10.0, null); delete from t where id = 2; update t set qty = 30 where id = 3");
    await sql(b, "update t set name = 'one-b' where id = 1; delete from t where id = 3; insert into t values (11, 'eleven', 11, null, x'0b'); update t set price = 4.25 where id = 4");
    await sql(b, "delete from t where id = 5; insert into t values (5, 'five again', 55, 5.5, x'05')");
    await sql(c, `insert into t values (12, 'twelve', 12, 1e100, x'0c0c'); update t set price = 9.5 where id = 4;
      update t set name = 'two-c' where id = 2; insert into t values (10, 'ten-c', 100, 0.5, x'10')`);

    await inOrder([b, 'sync'], [a, 'sync'], [c, 'sync'], [a, 'pull'], [b, 'pull']);

    const expected = await expectSameRows([c, a, b, tmp.path('hub/shop.db')]);
    const ids = (expected as { id: number }[]).map((r) => r.id);
    // The deletes beat concurrent updates; the re-inserted row 5 is back with its new values.
    expect(ids).toEqual([1, 4, 5, 10, 11, 12]);
    expect(expected).toContainEqual({ id: 5, name: 'five again', qty: 55, price: 5.5, data: { $blob: '05' } });
    expect(expected).toContainEqual(expect.objectContaining({ id: 12, price: 1e100, data: { $blob: '0c0c' } }));

    // Second round, other order: delete then re-insert of a synced row, and more concurrent updates.
    await sql(a, "delete from t where id = 10; insert into t values (10, 'ten reborn', 1000, 10.25, x'aa')");
    await sql(b, "update t set qty = 44 where id = 4; delete from t where id = 11");
    await sql(c, "update t set qty = 45 where id = 4; insert into t values (13, null, null, null, null)");
    await inOrder([c, 'sync'], [a, 'sync'], [b, 'push'], [b, 'pull'], [c, 'pull'], [a, 'pull']);

    const final = await expectSameRows([a, b, c, tmp.path('hub/shop.db')]);
    expect(final).toContainEqual({ id: 10, name: 'ten reborn', qty: 1000, price: 10.25, data: { $blob: 'aa' } });
    expect(final).toContainEqual({ id: 13, name: null, qty: null, price: null, data: null });
    expect((final as { id: number }[]).map((r) => r.id)).toEqual([1, 4, 5, 10, 12, 13]);
    await expectQuiet([a, b, c]);
  });
});
