import { expect } from 'vitest';
import { CHANGES, makeReplica, ok, rows, sql, type Sandbox } from './sync-helpers.js';
import { migrated } from './migrate-helpers.js';

/** What `push --json` and `sync --json` answer, as far as these tests look. */
export interface PushJson {
  sent: number;
  received: number;
  created: boolean;
  via: 'snapshot' | 'changes';
}

/** A replica with history: deletes, a re-insert, writes of another site merged in, a migration, a local-only table. */
export async function replicaWithHistory(box: Sandbox): Promise<string> {
  const a = box.path('a.db');
  const p = box.path('p.db');
  await makeReplica(a);
  await sql(a, `insert into t (id, name, qty, price, data) values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, 2.5, null), (3, 'three', 3, 0.0, x'')`);
  await ok(['clone', '--no-snapshot', a, p]);
  // Another site's writes, merged into a: they must keep the other site's id.
  await sql(p, `update t set name = 'from p' where id = 1`);
  await sql(p, `insert into t (id, name) values (4, 'four')`);
  await ok(['-d', p, 'push']);
  await sql(a, `delete from t where id = 2`);
  await sql(a, `delete from t where id = 3`);
  await sql(a, `insert into t (id, name, qty) values (3, 'three again', 33)`);
  await migrated(a, 'alter table t add column note text;');
  await sql(a, `update t set note = 'noted' where id = 1`);
  await sql(a, `create table scratch (secret text); insert into scratch values ('local only')`);
  await sql(a, `create index t_name on t (name)`);
  return a;
}

/**
 * Clones the hub's datasets `snap` (pushed by snapshot) and `stream` (pushed by change stream)
 * by change stream into s.db and c.db of `box`, and expects the two to hold the same replicated
 * state, with more than `atLeast` changes. Returns the clones' paths.
 */
export async function expectSameClones(box: Pick<Sandbox, 'path'>, hubUrl: string, atLeast: number): Promise<{ s: string; c: string }> {
  const s = box.path('s.db');
  const c = box.path('c.db');
  await ok(['clone', '--no-snapshot', `${hubUrl}/snap`, s]);
  await ok(['clone', '--no-snapshot', `${hubUrl}/stream`, c]);
  const expected = await rows(c, CHANGES);
  expect(expected.length).toBeGreaterThan(atLeast);
  expect(await rows(s, CHANGES)).toEqual(expected);
  return { s, c };
}
