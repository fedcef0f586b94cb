import { describe, expect, it } from 'vitest';
import { Rng } from './scenario.js';
import { bulkInsert, expectSameRows, makeReplica, ok, sandbox, sql } from '../e2e/sync-helpers.js';


/*
 * The README's clone -> edit -> sync on a replica much bigger than its edits: for a few seeds, a
 * fresh clone of a 40k-change dataset edits random rows (updates, deletes, inserts) and syncs at
 * once. Its first sync sends exactly its own changes (none of what the clone brought), the
 * writer of the dataset receives exactly those, and all three files end identical.
 */
const ROWS = 20_000;
const SEEDS = [1, 2, 3];
const tmp = sandbox('crsync-clone-edit-');

describe('a fresh clone of a big replica edits and syncs at once', () => {
  it.each(SEEDS)('seed %i: the first sync moves only the edits, and everyone converges', async (seed) => {
    const rng = new Rng(seed);
    const h = await tmp.hub();
    const a = tmp.path(`a${seed}.db`);
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await sql(a, bulkInsert(ROWS));
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/big${seed}`]);
    expect((await ok(['-d', a, 'push', '--create'])).sent).toBe(2 * ROWS);

    const b = tmp.path(`b${seed}.db`);
    await ok(['clone', `${h.url}/big${seed}`, b]);
    // What makes the next sync cheap: the push cursor stands at the end of what the clone
    // brought, and the clone's pages are recorded as one run, not one row per page.
    const [state] = await ok<{ push: number; version: number; runs: number }[]>([
      '-d', b, 'sql',
      "select (select push_version from crsync_remotes where name = 'origin') as push, crsql_db_version() as version, (select count(*) from crsync_applied) as runs",
    ]);
    expect(state!.push).toBe(state!.version);
    expect(state!.runs).toBe(1);
    const updated = new Set<number>();
    const deleted = new Set<number>();
    for (let i = rng.int(1, 12); i > 0; i--) updated.add(rng.int(1, ROWS));
    for (let i = rng.int(0, 4); i > 0; i--) deleted.add(rng.int(1, ROWS));
    for (const id of deleted) updated.delete(id);
    const inserted = rng.int(0, 5);
    const statements = [
      ...[...updated].map((id) => `update t set name = 'edited ${seed}', qty = ${rng.int(-99, 99)} where id = ${id}`),
      ...[...deleted].map((id) => `delete from t where id = ${id}`),
      ...Array.from({ length: inserted }, (_, k) => `insert into t (id, name, qty) values (${ROWS + 1 + k}, 'new', ${k})`),
    ];
    await sql(b, statements.join(';\n'));

    // Two cells per updated or inserted row, one delete marker per deleted row.
    const expected = 2 * updated.size + deleted.size + 2 * inserted;
    const first = await ok(['-d', b, 'sync']);
    expect(first).toMatchObject({ sent: expected, received: 0, conflicts: 0 });
    const back = await ok(['-d', a, 'sync']);
    expect(back).toMatchObject({ sent: 0, received: expected, conflicts: 0 });
    expect(await ok(['-d', b, 'sync'])).toMatchObject({ sent: 0, received: 0 });
    await expectSameRows([a, b, tmp.path(`hub/big${seed}.db`)]);
  });
});
