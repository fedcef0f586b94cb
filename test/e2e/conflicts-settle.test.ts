import { describe, expect, it } from 'vitest';
import { crsync, crsyncJson } from '../helpers.js';
import { conflicts, ok, rows, sql, sync, hubForFile, type ConflictJson } from './conflicts-setup.js';

// A resolution made on any replica closes every copy of its conflict (hub and replicas) through
// ordinary syncs, whichever side it keeps; concurrent resolutions converge like any writes.
describe('resolutions settle everywhere', () => {
  const { hub, replicas } = hubForFile();

  /** a and b edit item 1's name concurrently ('from-b' wins by value), c is a third replica; all synced. */
  async function conflicted(dataset: string): Promise<{ a: string; b: string; c: string; hub: string }> {
    const r = await replicas(dataset);
    const c = r.a.replace(/a\.db$/, 'c.db');
    await ok(['clone', `${hub().url}/${dataset}`, c]);
    await Promise.all([sql(r.a, "UPDATE items SET name = 'from-a' WHERE id = 1"), sql(r.b, "UPDATE items SET name = 'from-b' WHERE id = 1")]);
    await sync(r.a);
    expect((await sync(r.b)).conflicts).toBe(1);
    expect((await sync(r.a)).conflicts).toBe(1);
    await sync(c);
    return { ...r, c };
  }

  const openOnHub = (file: string): unknown[] => rows(file, 'SELECT id FROM crsync_conflicts WHERE resolved_at IS NULL');
  const resolve = async (db: string, args: string[]): Promise<{ written: number }> => {
    const r = await crsyncJson<{ written: number }>(['-d', db, 'resolve', ...args]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.json;
  };
  const syncAll = async (...dbs: string[]): Promise<void> => {
    for (let i = 0; i < 2; i++) for (const db of dbs) await sync(db);
  };
  /** A conflict named by what it is about, the same on every replica whichever side it saw. */
  const named = (list: ConflictJson[]): string[] => list.map((x) => `${JSON.stringify(x.pk)} ${x.column} ${[x.ours, x.theirs].map(String).sort().join('|')}`).sort();

  it('keeping the winner (no write) closes the copies on the loser and the hub', async () => {
    const { a, b, c, hub: hubFile } = await conflicted('keep-winner');
    const [onB] = await conflicts(b);
    expect(onB).toMatchObject({ ours: 'from-b', winner: 'ours' });
    expect((await resolve(b, [String(onB!.id), '--ours'])).written).toBe(0);
    await syncAll(b, a, c);
    expect(await conflicts(a)).toEqual([]);
    expect(await conflicts(b)).toEqual([]);
    expect(await conflicts(c)).toEqual([]);
    expect(openOnHub(hubFile)).toEqual([]);
    // a sees who resolved it and what was kept, from its own side (the winner was theirs).
    const [onA] = await conflicts(a, true);
    expect(onA).toMatchObject({ resolved: true, resolution: 'theirs' });
    expect((onA as unknown as { resolvedBy: string }).resolvedBy).toMatch(/^[0-9a-f]{32}$/);
    expect((await crsync(['-d', a, 'status', '--exit-code'])).exitCode).toBe(0);
    for (const f of [a, b, c, hubFile]) expect(rows(f)[0]).toEqual({ id: 1, name: 'from-b', qty: 1 });
    // A fresh clone sees no conflict that was resolved.
    const d = a.replace(/a\.db$/, 'd.db');
    await ok(['clone', `${hub().url}/keep-winner`, d]);
    await sync(d);
    expect(await conflicts(d)).toEqual([]);
    expect((await crsync(['-d', d, 'status', '--exit-code'])).exitCode).toBe(0);
  });

  it('push, pull and sync count the resolutions they carry, also one that moves no change', async () => {
    const { a, b, c } = await conflicted('counts');
    const [onB] = await conflicts(b);
    expect((await resolve(b, [String(onB!.id), '--ours'])).written).toBe(0);
    type Moved = { sent: number; received: number; resolutions: { sent: number; received: number } };
    const moved = async (db: string, verb: string): Promise<Moved> => {
      const r = await crsyncJson<Moved>(['-d', db, verb]);
      expect(r.exitCode, r.stderr).toBe(0);
      return r.json;
    };
    expect(await moved(b, 'push')).toMatchObject({ sent: 0, resolutions: { sent: 1, received: 0 } });
    expect((await moved(b, 'push')).resolutions).toEqual({ sent: 0, received: 0 });
    expect(await moved(a, 'pull')).toMatchObject({ received: 0, resolutions: { sent: 0, received: 1 } });
    expect((await moved(a, 'sync')).resolutions).toEqual({ sent: 0, received: 0 });
    // c held no copy; the hub passes the record on all the same. A person sees it in the summary.
    const human = await crsync(['-d', c, 'sync']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout + human.stderr).toContain('received 1 conflict resolution');
    expect(await conflicts(a)).toEqual([]);
  });

  it('keeping the loser (a write) closes every copy, labelled as resolved, not only superseded', async () => {
    const { a, b, c, hub: hubFile } = await conflicted('keep-loser');
    const [onA] = await conflicts(a);
    expect(onA).toMatchObject({ ours: 'from-a', winner: 'theirs' });
    expect((await resolve(a, [String(onA!.id), '--ours'])).written).toBe(1);
    await syncAll(a, b, c);
    for (const db of [a, b, c]) expect(await conflicts(db)).toEqual([]);
    expect(openOnHub(hubFile)).toEqual([]);
    for (const f of [a, b, c, hubFile]) expect(rows(f)[0]).toEqual({ id: 1, name: 'from-a', qty: 1 });
    expect((await conflicts(b, true)).map((x) => x.resolved)).toEqual([true]);
  });

  it('two replicas resolving one conflict differently end with one value and the same open conflicts', async () => {
    const { a, b, c, hub: hubFile } = await conflicted('concurrent');
    const [onA] = await conflicts(a);
    const [onB] = await conflicts(b);
    // Both offline: a keeps its own (losing) value, b writes a new one.
    expect((await resolve(a, [String(onA!.id), '--ours'])).written).toBe(1);
    expect((await resolve(b, [String(onB!.id), '--value', '"chosen-b"'])).written).toBe(1);
    await syncAll(a, b, c);
    const values = [a, b, c, hubFile].map((f) => rows(f)[0]);
    expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
    // The first conflict is closed everywhere; the two resolutions are one new conflict, open on
    // every replica that held the first (the hub, a and b), the same one on each.
    const [openA, openB] = [await conflicts(a), await conflicts(b)];
    expect(named(openA)).toEqual(['{"id":1} name chosen-b|from-a']);
    expect(named(openB)).toEqual(named(openA));
    const hubOpen = rows(hubFile, 'SELECT ours, theirs FROM crsync_conflicts WHERE resolved_at IS NULL') as { ours: string; theirs: string }[];
    expect(hubOpen.map((x) => [JSON.parse(x.ours), JSON.parse(x.theirs)].sort().join('|'))).toEqual(['chosen-b|from-a']);
    expect(await conflicts(c)).toEqual([]);
    // Resolving that one on either side settles it everywhere too.
    expect((await resolve(b, [String(openB[0]!.id), '--theirs'])).written).toBeGreaterThanOrEqual(0);
    await syncAll(b, a, c);
    for (const db of [a, b, c]) expect(await conflicts(db)).toEqual([]);
    expect(openOnHub(hubFile)).toEqual([]);
    const final = [a, b, c, hubFile].map((f) => JSON.stringify(rows(f)[0]));
    expect(new Set(final).size).toBe(1);
  });
});
