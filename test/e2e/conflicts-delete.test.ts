import { describe, expect, it } from 'vitest';
import { conflictRows, conflicts, ok, rows, sql, sync, hubForFile } from './conflicts-setup.js';

describe('delete versus update through a hub', () => {
  const { replicas } = hubForFile();

  it('delete synced first: the updater gets one delete_update conflict; --ours brings the row back everywhere', async () => {
    const { a, b, hub: hubFile } = await replicas('deletefirst');
    await Promise.all([sql(a, 'DELETE FROM items WHERE id = 1'), sql(b, "UPDATE items SET name = 'kept' WHERE id = 1")]);
    await sync(a);
    expect((await sync(b)).conflicts).toBe(1);
    const all = await conflicts(b);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      kind: 'delete_update',
      column: null,
      pk: { id: 1 },
      ours: { id: 1, name: 'kept', qty: 1 },
      theirs: null,
      winner: 'theirs',
    });
    await sync(a);
    for (const f of [a, b, hubFile]) expect(rows(f).map((r) => (r as { id: number }).id)).toEqual([2, 3]);
    const before = [a, b, hubFile].map((f) => conflictRows(f).length);

    await ok(['-d', b, 'resolve', String(all[0]!.id), '--ours']);
    await sync(b);
    await sync(a);
    for (const f of [a, b, hubFile]) expect(rows(f)[0]).toEqual({ id: 1, name: 'kept', qty: 1 });
    expect([a, b, hubFile].map((f) => conflictRows(f).length)).toEqual(before);
    expect(await conflicts(b)).toEqual([]);
    expect(await conflicts(a)).toEqual([]);
  });

  it('update synced first: the deleter gets one delete_update conflict; --value sets the row everywhere', async () => {
    const { a, b, hub: hubFile } = await replicas('updatefirst');
    await Promise.all([sql(a, "UPDATE items SET name = 'edited' WHERE id = 2"), sql(b, 'DELETE FROM items WHERE id = 2')]);
    await sync(a);
    expect((await sync(b)).conflicts).toBe(1);
    const [c] = await conflicts(b);
    // theirs holds the columns the concurrent update wrote; the delete won.
    expect(c).toMatchObject({ kind: 'delete_update', column: null, pk: { id: 2 }, ours: null, theirs: { name: 'edited' }, winner: 'ours' });
    await sync(a);
    for (const f of [a, b, hubFile]) expect(rows(f).map((r) => (r as { id: number }).id)).toEqual([1, 3]);
    const before = [a, b, hubFile].map((f) => conflictRows(f).length);

    await ok(['-d', b, 'resolve', String(c!.id), '--value', '{"name":"restored","qty":22}']);
    await sync(b);
    await sync(a);
    for (const f of [a, b, hubFile]) expect(rows(f)[1]).toEqual({ id: 2, name: 'restored', qty: 22 });
    expect([a, b, hubFile].map((f) => conflictRows(f).length)).toEqual(before);
    expect((await conflicts(b, true))[0]).toMatchObject({ resolved: true, resolution: 'value' });
  });
});
