import { describe, expect, it } from 'vitest';
import { crsync } from '../helpers.js';
import { conflicts, hubForFile, ok, rows, sql, sync } from './conflicts-setup.js';

// A later write that decides a conflict's cell closes every copy of that conflict (superseded):
// on the replica that wrote it, on the hub and on the other writer, whichever order each one
// hears of the conflict and of the write.
describe('a later write supersedes a conflict everywhere', () => {
  const { replicas } = hubForFile();

  /** What a person sees of every copy: `crsync conflicts --all` on each replica and on the hub's own file. */
  async function everyCopy(files: string[]): Promise<{ open: number; all: { resolved: boolean; resolution: string | null }[] }[]> {
    const out = [];
    for (const f of files) {
      const all = (await conflicts(f, true)).map((c) => ({ resolved: c.resolved, resolution: c.resolution }));
      out.push({ open: (await conflicts(f)).length, all });
    }
    return out;
  }

  const closed = { open: 0, all: [{ resolved: true, resolution: 'superseded' }] };

  /** Every copy closed as superseded, the same row everywhere, and both replicas in sync. */
  async function expectSettled(a: string, b: string, hub: string): Promise<void> {
    expect(await everyCopy([a, b, hub])).toEqual([closed, closed, closed]);
    for (const f of [a, b, hub]) expect(rows(f)[0]).toEqual({ id: 1, name: 'final', qty: 1 });
    for (const db of [a, b]) expect((await crsync(['-d', db, 'status', '--exit-code'])).exitCode).toBe(0);
  }

  it('the meeting replica writes the cell again before it pushes: the hub hears of the conflict after the write', async () => {
    const { a, b, hub } = await replicas('after-write');
    await sql(a, "UPDATE items SET name = 'from-a' WHERE id = 1");
    await sync(a);
    await sql(b, "UPDATE items SET name = 'from-b' WHERE id = 1");
    // b meets a's write on pull: a conflict, recorded on b only so far.
    const pulled = JSON.parse(await ok(['--json', '-d', b, 'pull'])) as { conflicts: number };
    expect(pulled.conflicts).toBe(1);
    expect(await conflicts(b)).toHaveLength(1);
    // b decides the cell with a later write, then pushes it with its conflict report.
    await sql(b, "UPDATE items SET name = 'final' WHERE id = 1");
    await sync(b);
    await sync(a);
    await expectSettled(a, b, hub);
  });

  it('a writer decides the cell after every copy was recorded: its own copy closes with its push', async () => {
    const { a, b, hub } = await replicas('after-copies');
    await Promise.all([sql(a, "UPDATE items SET name = 'from-a' WHERE id = 1"), sql(b, "UPDATE items SET name = 'from-b' WHERE id = 1")]);
    await sync(a);
    expect((await sync(b)).conflicts).toBe(1);
    expect((await sync(a)).conflicts).toBe(1);
    expect((await everyCopy([a, b, hub])).map((x) => x.open)).toEqual([1, 1, 1]);
    // a (whose edit lost) writes the cell again with plain SQL, not `crsync resolve`.
    await sql(a, "UPDATE items SET name = 'final' WHERE id = 1");
    await sync(a);
    await sync(b);
    await expectSettled(a, b, hub);
  });
});
