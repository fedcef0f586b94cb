import { describe, expect, it } from 'vitest';
import { crsync, crsyncJson } from '../helpers.js';
import { conflicts, ok, rows, sql, sync, hubForFile } from './conflicts-setup.js';

describe('crsync resolve: bad input', () => {
  const { replicas } = hubForFile();

  it('refuses bad input with exit 2 and leaves conflicts open; --all resolves the rest', async () => {
    const { a, b } = await replicas('badinput');
    await Promise.all([sql(a, "UPDATE items SET qty = 10 WHERE id = 1"), sql(b, "UPDATE items SET qty = 20 WHERE id = 1")]);
    await sync(a);
    await sync(b);
    const [c] = await conflicts(b);
    expect(c).toMatchObject({ column: 'qty', ours: 20, theirs: 10, winner: 'ours' });
    const id = String(c!.id);
    const refused: [string[], RegExp][] = [
      [[id], /--ours, --theirs or --value/], // no TTY and no choice
      [[id, '--ours', '--theirs'], /one of/],
      [[id, '--value', 'ten'], /not JSON/],
      [[id, '--value', '{"qty":1}'], /not an SQLite value/],
      [['x1', '--ours'], /not a conflict id/],
      [[id, '--all', '--ours'], /not both/],
      [['--ours'], /name the conflicts/],
    ];
    const runs = await Promise.all(refused.map(([args]) => crsync(['-d', b, 'resolve', ...args])));
    runs.forEach((r, i) => {
      expect(r.exitCode, refused[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(refused[i]![1]);
    });
    // An id that names no conflict is well-formed: exit 1, not a usage error.
    const missing = await crsyncJson<{ error: { code: string; message: string } }>(['-d', b, 'resolve', '999', '--ours']);
    expect(missing.exitCode).toBe(1);
    expect(missing.json.error).toMatchObject({ code: 'no_such_conflict', message: 'no conflict with id 999' });
    const json = await crsyncJson<{ error: { code: string } }>(['-d', b, 'resolve', id]);
    expect(json.exitCode).toBe(2);
    expect(json.json.error.code).toBe('usage');
    expect(await conflicts(b)).toHaveLength(1);

    // --table selects by table, in both commands.
    const [other, items] = await Promise.all([
      crsyncJson<unknown[]>(['-d', b, 'conflicts', '--table', 'other']),
      crsyncJson<unknown[]>(['-d', b, 'conflicts', '--table', 'items']),
    ]);
    expect([other.json.length, items.json.length]).toEqual([0, 1]);
    const none = await crsyncJson<{ resolved: unknown[] }>(['-d', b, 'resolve', '--table', 'other', '--ours']);
    expect([none.exitCode, none.json.resolved.length]).toEqual([0, 0]);
    const out = await ok(['-d', b, 'resolve', '--all', '--theirs']);
    expect(out).toMatch(/written as a new local change/);
    expect(await conflicts(b)).toEqual([]);
    expect(rows(b)[0]).toEqual({ id: 1, name: 'item1', qty: 10 });
  });
});
