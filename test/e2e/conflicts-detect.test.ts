import { describe, expect, it } from 'vitest';
import { conflictRows, conflicts, rows, sql, sync, hubForFile } from './conflicts-setup.js';

describe('conflict detection through a hub', () => {
  const { replicas } = hubForFile();

  it('same cell edited offline on both: exactly one open conflict, the losing value kept', async () => {
    const { a, b, hub: hubFile } = await replicas('concurrent');
    await Promise.all([sql(a, "UPDATE items SET name = 'from-a' WHERE id = 1"), sql(b, "UPDATE items SET name = 'from-b' WHERE id = 1")]);
    expect((await sync(a)).conflicts).toBe(0);
    expect((await sync(b)).conflicts).toBe(1);

    const onB = await conflicts(b);
    expect(onB).toHaveLength(1);
    const c = onB[0]!;
    expect(c).toMatchObject({ table: 'items', pk: { id: 1 }, column: 'name', kind: 'update_update', remote: 'origin', resolved: false });
    // cr-sqlite breaks the tie by value: 'from-b' > 'from-a', so b's edit won and a's is the one kept here.
    expect(c).toMatchObject({ ours: 'from-b', theirs: 'from-a', winner: 'ours' });
    expect(new Date(c.detectedAt).toISOString()).toBe(c.detectedAt);

    // a, whose edit lost, hears of it on its next sync; the values converged everywhere.
    expect((await sync(a)).conflicts).toBe(1);
    const onA = await conflicts(a);
    expect(onA).toHaveLength(1);
    expect(onA[0]).toMatchObject({ column: 'name', ours: 'from-a', theirs: 'from-b', winner: 'theirs' });
    for (const f of [a, b, hubFile]) expect(rows(f)[0]).toEqual({ id: 1, name: 'from-b', qty: 1 });
    // The hub recorded it once while applying b's push; b did not record it twice.
    expect(conflictRows(hubFile)).toHaveLength(1);
    expect(await conflicts(b, true)).toHaveLength(1);
  });

  it('sequential edits of one cell are not a conflict', async () => {
    const { a, b, hub: hubFile } = await replicas('sequential');
    await sql(a, "UPDATE items SET name = 'first' WHERE id = 2");
    await sync(a);
    await sync(b);
    await sql(b, "UPDATE items SET name = 'second' WHERE id = 2");
    expect((await sync(b)).conflicts).toBe(0);
    expect((await sync(a)).conflicts).toBe(0);
    for (const f of [a, b, hubFile]) {
      expect(rows(f)[1]).toEqual({ id: 2, name: 'second', qty: 2 });
      expect(conflictRows(f)).toEqual([]);
    }
  });

  it('equal values, and edits to different columns of one row, are not conflicts and both edits survive', async () => {
    const { a, b, hub: hubFile } = await replicas('disjoint');
    await Promise.all([
      sql(a, "UPDATE items SET name = 'same' WHERE id = 1; UPDATE items SET name = 'renamed' WHERE id = 3"),
      sql(b, "UPDATE items SET name = 'same' WHERE id = 1; UPDATE items SET qty = 99 WHERE id = 3"),
    ]);
    await sync(a);
    await sync(b);
    await sync(a);
    for (const f of [a, b, hubFile]) {
      expect(rows(f)).toEqual([
        { id: 1, name: 'same', qty: 1 },
        { id: 2, name: 'item2', qty: 2 },
        { id: 3, name: 'renamed', qty: 99 },
      ]);
      expect(conflictRows(f)).toEqual([]);
    }
  });
});
