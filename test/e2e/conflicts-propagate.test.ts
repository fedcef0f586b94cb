import { describe, expect, it } from 'vitest';
import { conflictRows, conflicts, rows, sql, sync, hubForFile } from './conflicts-setup.js';

// The replica whose edit lost hears of it even when only the winner saw the pair: the winner
// reports what it found on pull with its next push, and the hub passes it on at the loser's pull.
describe('conflicts reach the writer whose edit lost', () => {
  const { replicas } = hubForFile();

  it('a cell edited twice on one side and once on the other', async () => {
    const { a, b, hub: hubFile } = await replicas('twice');
    await sql(b, "UPDATE items SET name = 'b-once' WHERE id = 1");
    await sql(a, "UPDATE items SET name = 'a-first' WHERE id = 1");
    await sql(a, "UPDATE items SET name = 'a-second' WHERE id = 1");
    // b syncs first; a then pulls b's value, keeps its own (higher col_version), and pushes.
    await sync(b);
    expect((await sync(a)).conflicts).toBe(1);
    expect(await conflicts(a)).toMatchObject([{ column: 'name', ours: 'a-second', theirs: 'b-once', winner: 'ours' }]);
    // b's edit lost: b hears of it on its next sync, seen from b.
    expect((await sync(b)).conflicts).toBe(1);
    expect(await conflicts(b)).toMatchObject([{ column: 'name', ours: 'b-once', theirs: 'a-second', winner: 'theirs', remote: 'origin' }]);
    for (const f of [a, b, hubFile]) expect(rows(f)[0]).toEqual({ id: 1, name: 'a-second', qty: 1 });
    // Nothing more on later syncs, and the hub holds the one conflict it passed on.
    expect((await sync(a)).conflicts).toBe(0);
    expect((await sync(b)).conflicts).toBe(0);
    expect(await conflicts(a, true)).toHaveLength(1);
    expect(await conflicts(b, true)).toHaveLength(1);
    expect(conflictRows(hubFile)).toHaveLength(1);
  });

  it('an update synced before a concurrent delete', async () => {
    const { a, b, hub: hubFile } = await replicas('upd-then-del');
    await sql(a, 'UPDATE items SET qty = 42 WHERE id = 2');
    await sql(b, 'DELETE FROM items WHERE id = 2');
    await sync(a);
    expect((await sync(b)).conflicts).toBe(1);
    expect(await conflicts(b)).toMatchObject([{ kind: 'delete_update', column: null, ours: null, winner: 'ours' }]);
    // a updated a row that b deleted without seeing the update: a hears of it.
    expect((await sync(a)).conflicts).toBe(1);
    const onA = await conflicts(a);
    expect(onA).toHaveLength(1);
    expect(onA[0]).toMatchObject({ kind: 'delete_update', pk: { id: 2 }, theirs: null, winner: 'theirs' });
    expect(onA[0]!.ours).toMatchObject({ qty: 42 });
    for (const f of [a, b, hubFile]) expect(rows(f).map((r) => (r as { id: number }).id)).toEqual([1, 3]);
    expect((await sync(a)).conflicts).toBe(0);
    expect(await conflicts(a, true)).toHaveLength(1);
  });
});
