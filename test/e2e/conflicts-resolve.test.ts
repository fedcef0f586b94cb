import { describe, expect, it } from 'vitest';
import { crsyncJson } from '../helpers.js';
import { conflictRows, conflicts, rows, sql, sync, hubForFile } from './conflicts-setup.js';

interface ResolveJson {
  resolved: { id: number; choice: string; value: unknown; written: boolean }[];
  written: number;
}

describe('crsync resolve through a hub', () => {
  const { replicas } = hubForFile();

  it('--ours, --theirs and --value win on every replica after sync, and no new conflict appears', async () => {
    const { a, b, hub: hubFile } = await replicas('choices', 4);
    // Ties break by value: 'zz-…' beats 'aa-…'. a wins rows 1 and 4, b wins rows 2 and 3.
    await Promise.all([
      sql(a, "UPDATE items SET name = 'zz-a' WHERE id IN (1, 4); UPDATE items SET name = 'aa-a' WHERE id IN (2, 3)"),
      sql(b, "UPDATE items SET name = 'aa-b' WHERE id IN (1, 4); UPDATE items SET name = 'zz-b' WHERE id IN (2, 3)"),
    ]);
    await sync(a);
    await sync(b);
    await sync(a);
    const [onA, onB] = await Promise.all([conflicts(a), conflicts(b)]);
    // b met every pair on its pull (and reported them with its push); a hears of those it lost.
    expect(onA.map((c) => [c.pk.id, c.winner])).toEqual([[2, 'theirs'], [3, 'theirs']]);
    const open = onB.sort((x, y) => Number(x.pk.id) - Number(y.pk.id));
    expect(open.map((c) => [c.pk.id, c.ours, c.theirs, c.winner])).toEqual([
      [1, 'aa-b', 'zz-a', 'theirs'],
      [2, 'zz-b', 'aa-a', 'ours'],
      [3, 'zz-b', 'aa-a', 'ours'],
      [4, 'aa-b', 'zz-a', 'theirs'],
    ]);
    const id = (row: number): string => String(open.find((c) => c.pk.id === row)!.id);
    const before = { a: conflictRows(a), b: conflictRows(b), hub: conflictRows(hubFile) };
    // Rows 2 and 3 found while merging b's push; rows 1 and 4 reported by b.
    expect(before.hub).toHaveLength(4);

    const resolve = async (args: string[]): Promise<ResolveJson> => {
      const r = await crsyncJson<ResolveJson>(['-d', b, 'resolve', ...args]);
      expect(r.exitCode, r.stderr).toBe(0);
      return r.json;
    };
    expect((await resolve([id(1), '--ours'])).resolved).toEqual([
      { id: Number(id(1)), table: 'items', pk: { id: 1 }, column: 'name', choice: 'ours', value: 'aa-b', written: true },
    ]);
    expect((await resolve([id(2), '--theirs'])).written).toBe(1);
    expect((await resolve([id(3), '--value', '"chosen"'])).written).toBe(1);
    // Keeping the value that already won writes nothing.
    expect((await resolve([id(4), '--theirs'])).written).toBe(0);
    expect(await conflicts(b)).toEqual([]);

    await sync(b);
    await sync(a);
    const want = [
      { id: 1, name: 'aa-b', qty: 1 },
      { id: 2, name: 'aa-a', qty: 2 },
      { id: 3, name: 'chosen', qty: 3 },
      { id: 4, name: 'zz-a', qty: 4 },
    ];
    for (const f of [a, b, hubFile]) expect(rows(f)).toEqual(want);
    // No new conflict anywhere; the written resolutions closed the other copies (superseded).
    expect(conflictRows(a).map((c) => c.resolution)).toEqual(['superseded', 'superseded']);
    expect(conflictRows(b)).toHaveLength(before.b.length);
    // The hub's copies of the written resolutions are superseded; row 4 was kept without a write,
    // and b's resolution, which travelled with its push, closed it (the winner, 'theirs' as b saw it).
    expect(conflictRows(hubFile).map((c) => c.resolution)).toEqual(['superseded', 'superseded', 'superseded', 'theirs']);
    const [openA, allB] = await Promise.all([conflicts(a), conflicts(b, true)]);
    expect(openA).toEqual([]);
    expect(Object.fromEntries(allB.map((c) => [c.pk.id, c.resolution]))).toEqual({ 1: 'ours', 2: 'theirs', 3: 'value', 4: 'theirs' });
  });
});
