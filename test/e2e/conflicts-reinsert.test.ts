import { describe, expect, it } from 'vitest';
import { crsyncJson } from '../helpers.js';
import { conflicts, hubForFile, rows, sql, sync } from './conflicts-setup.js';

// A delete followed by a re-insert reaches other replicas as one higher causal length, never as
// a delete: an update made concurrently to the old row must still show up as a conflict.
describe('update versus a concurrent delete and re-insert', () => {
  const { replicas } = hubForFile();

  it('the re-insert arrives after the update: the updater records what it lost', async () => {
    const { a, b, hub } = await replicas('reinsert-later');
    await sql(a, "UPDATE items SET name = 'edited' WHERE id = 1");
    await sql(b, "DELETE FROM items WHERE id = 1; INSERT INTO items VALUES (1, 'reborn', 10)");
    await sync(b);
    expect((await sync(a)).conflicts).toBe(1);
    const [c, ...more] = await conflicts(a);
    expect(more).toEqual([]);
    expect(c).toMatchObject({ kind: 'delete_update', column: null, pk: { id: 1 }, ours: { id: 1, name: 'edited', qty: 1 }, winner: 'theirs' });
    expect(c!.theirs).toMatchObject({ name: 'reborn', qty: 10 });
    for (const f of [a, b, hub]) expect(rows(f)[0]).toEqual({ id: 1, name: 'reborn', qty: 10 });
  });

  it('the update arrives after the re-insert: the hub records it and tells the updater', async () => {
    const { a, b, hub } = await replicas('reinsert-first');
    await sql(a, "UPDATE items SET qty = 99 WHERE id = 2");
    await sql(b, "DELETE FROM items WHERE id = 2; INSERT INTO items VALUES (2, 'reborn', 20)");
    await sync(b);
    const push = await crsyncJson<{ conflicts: number }>(['-d', a, 'push']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.json.conflicts).toBe(1);
    const [c] = await conflicts(a);
    expect(c).toMatchObject({ kind: 'delete_update', column: null, pk: { id: 2 }, ours: { qty: 99 }, winner: 'theirs' });
    await sync(a);
    expect(await conflicts(a)).toHaveLength(1);
    for (const f of [a, b, hub]) expect(rows(f)[1]).toEqual({ id: 2, name: 'reborn', qty: 20 });
  });

  it('a second, different loss on the same row is recorded while the first is still open', async () => {
    const { a, b, hub } = await replicas('reinsert-twice');
    await sql(a, "UPDATE items SET name = 'edited' WHERE id = 3");
    await sql(b, "DELETE FROM items WHERE id = 3; INSERT INTO items VALUES (3, 'reborn', 30)");
    await sync(b);
    await sync(a);
    // Now b edits the re-inserted row while a, not having seen that, deletes it.
    await sql(b, "UPDATE items SET name = 'b again' WHERE id = 3");
    await sql(a, 'DELETE FROM items WHERE id = 3');
    await sync(b);
    expect((await sync(a)).conflicts).toBe(1);
    // Both are recorded. a's delete, made after both lives of the first, decided the row: the
    // first is closed (superseded) as a pushes it, as it is on b and the hub when it arrives.
    const all = await conflicts(a, true);
    expect(all.map((c) => [c.kind, c.ours, c.theirs, c.winner, c.resolution])).toEqual([
      ['delete_update', { id: 3, name: 'edited', qty: 3 }, { name: 'reborn', qty: 30 }, 'theirs', 'superseded'],
      ['delete_update', null, { name: 'b again' }, 'ours', null],
    ]);
    expect((await conflicts(a)).map((c) => c.theirs)).toEqual([{ name: 'b again' }]);
    await sync(b);
    for (const f of [a, b, hub]) expect(rows(f).map((r) => (r as { id: number }).id)).toEqual([1, 2]);
  });
});
