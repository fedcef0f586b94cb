import { describe, expect, it } from 'vitest';
import { ok, rows, sql } from './sync-helpers.js';
import { allRows, columns, hubPairFixture, migrated, migrateJson, read, snapshot } from './migrate-helpers.js';

const { setup } = hubPairFixture('crsync-migrate-converge-');

describe('replicas on either side of a migration', () => {
  it('a migration failing mid-file leaves the replica exactly as before, and still replicating', async () => {
    const { a, b } = await setup();
    const before = snapshot(a);
    const r = await migrateJson<{ error: { code: string; message: string; details: { statement: number } } }>(
      a,
      `ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red';
CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT);
ALTER TABLE t ADD COLUMN size INTEGER DEFAULT 0;
ALTER TABLE t ADD COLUMN size INTEGER DEFAULT 1;
UPDATE t SET color = 'never';`,
      ['--track', 'notes'],
    );
    // Statement 4 fails while the alter of t is open (its triggers are down at that moment).
    expect(r.exitCode).toBe(1);
    expect(r.json.error.code).toBe('migration_failed');
    expect(r.json.error.details.statement).toBe(4);
    expect(r.json.error.message).toContain('statement 4 failed: duplicate column name: size (in: ALTER TABLE t ADD COLUMN size INTEGER DEFAULT 1)');
    expect(snapshot(a)).toEqual(before);

    await sql(a, "update t set name = 'one after' where id = 1; insert into t (id, name) values (3, 'three')");
    await ok(['-d', a, 'sync']);
    await ok(['-d', b, 'sync']);
    expect(await rows(b, 'select id, name from t order by id')).toEqual([
      { id: 1, name: 'one after' },
      { id: 2, name: 'two' },
      { id: 3, name: 'three' },
    ]);
  });

  it('a migrated and a not-yet-migrated replica, editing the same rows, converge row for row', async () => {
    const { a, b, hubDb } = await setup();
    await migrated(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'; ALTER TABLE t ADD COLUMN size INTEGER NOT NULL DEFAULT 1");
    await sql(a, "update t set color = 'blue', name = 'one from a' where id = 1; insert into t (id, name, color, size) values (10, 'ten', 'green', 3); update t set qty = 22 where id = 2");
    await sql(b, "update t set name = 'one from b', price = 9.5 where id = 1; insert into t (id, name, qty) values (20, 'twenty', 20); delete from t where id = 2");

    // B (old schema) first, then A (ahead of the hub) can still pull, and carries its migration.
    await ok(['-d', b, 'sync']);
    await ok(['-d', a, 'sync']);
    // B, now behind the hub, pushes more old-schema edits: they fit the hub's newer schema.
    await sql(b, "update t set qty = 200 where id = 20; insert into t (id, name) values (21, 'twenty-one')");
    await ok(['-d', b, 'push']);
    expect(columns(b)).toEqual(['id', 'name', 'qty', 'price', 'data']);
    await ok(['-d', b, 'sync']);
    await ok(['-d', a, 'sync']);

    const expected = allRows(a);
    expect(allRows(b)).toEqual(expected);
    expect(allRows(hubDb)).toEqual(expected);
    expect(columns(b)).toEqual(columns(a));
    expect(expected.map((r) => (r as unknown[])[0])).toEqual([1, 10, 20, 21]);
    expect(read(b, 'SELECT id, color, size FROM t ORDER BY id')).toEqual([
      [1, 'blue', 1],
      [10, 'green', 3],
      [20, 'red', 1],
      [21, 'red', 1],
    ]);
    for (const db of [a, b]) {
      const quiet = await ok(['-d', db, 'sync']);
      expect([quiet.sent, quiet.received]).toEqual([0, 0]);
    }
  });
});
