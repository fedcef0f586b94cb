import { describe, expect, it } from 'vitest';
import { ok, rows, sql, type TransferJson } from './sync-helpers.js';
import { doctorSchema, fileSchemaVersion, hubPairFixture, migrated, read } from './migrate-helpers.js';

type SyncJson = TransferJson & { schemaChanges: string[] };

const { setup } = hubPairFixture('crsync-migrate-sync-');

describe('migrations travel through the hub', () => {
  it('a column and a table added on A reach B with their values, and every side shows the same version', async () => {
    const { a, b, hubDb } = await setup();
    const m = await migrated(
      a,
      `ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red';
       UPDATE t SET color = 'blue' WHERE id = 2;
       CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT, stars INTEGER NOT NULL DEFAULT 0);
       INSERT INTO notes VALUES (1, 'hello', 5), (2, 'world', 0);`,
      ['--track', 'notes'],
    );
    expect(m).toMatchObject({ tracked: ['notes'], previousVersion: 1, schemaVersion: 2, schemaChanged: true });

    const pushed = await ok<SyncJson>(['-d', a, 'sync']);
    expect(pushed.schemaChanges.sort()).toEqual(['column t.color', 'table notes']);
    // One changed cell of t, and the two cells of each note (tracking backfills rows made before it).
    expect(pushed.sent).toBe(5);
    const pulled = await ok<SyncJson>(['-d', b, 'sync']);
    expect(pulled.received).toBe(5);
    expect(pulled.schemaChanges.join('\n')).toMatch(/ALTER TABLE "t" ADD COLUMN "color" TEXT DEFAULT 'red'/);

    expect(await rows(b)).toEqual([
      { id: 1, name: 'one', qty: 1, price: 1.5, data: { $blob: '01' }, color: 'red' },
      { id: 2, name: 'two', qty: 2, price: null, data: null, color: 'blue' },
    ]);
    expect(await rows(b, 'select * from notes order by id')).toEqual([
      { id: 1, body: 'hello', stars: 5 },
      { id: 2, body: 'world', stars: 0 },
    ]);
    const schema = await doctorSchema(a);
    expect(schema).toEqual({ version: 2, hash: m.schemaHash });
    expect(await doctorSchema(b)).toEqual(schema);
    expect(fileSchemaVersion(hubDb)).toBe(2);

    // B's new rows in the new table come back to A.
    await sql(b, "insert into notes values (3, 'from b', 1); update t set color = 'green' where id = 1");
    await ok(['-d', b, 'sync']);
    await ok(['-d', a, 'sync']);
    expect(await rows(a, 'select id, color from t order by id')).toEqual([
      { id: 1, color: 'green' },
      { id: 2, color: 'blue' },
    ]);
    expect(await rows(a, 'select count(*) as n from notes')).toEqual([{ n: 3 }]);
  });

  it('a replica two migrations behind catches up with both, then its own edits flow', async () => {
    const { a, b, hubDb } = await setup();
    await sql(b, "update t set qty = 20 where id = 2");
    await migrated(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'; UPDATE t SET color = 'blue' WHERE id = 1");
    await ok(['-d', a, 'push', '--create']);
    const second = await migrated(a, 'CREATE TABLE tags (id TEXT PRIMARY KEY NOT NULL, label TEXT); INSERT INTO tags VALUES (\'x\', \'ex\')', ['--track', 'tags']);
    expect(second.schemaVersion).toBe(3);
    await ok(['-d', a, 'push']);
    expect(fileSchemaVersion(hubDb)).toBe(3);

    const caught = await ok<SyncJson>(['-d', b, 'sync']);
    expect(caught.schemaChanges.filter((s) => !s.startsWith('SELECT'))).toHaveLength(2);
    expect(await doctorSchema(b)).toEqual({ version: 3, hash: second.schemaHash });
    expect(await rows(b, 'select id, qty, color from t order by id')).toEqual([
      { id: 1, qty: 1, color: 'blue' },
      { id: 2, qty: 20, color: 'red' },
    ]);
    expect(await rows(b, 'select * from tags')).toEqual([{ id: 'x', label: 'ex' }]);
    await ok(['-d', a, 'pull']);
    expect(await rows(a, 'select id, qty from t order by id')).toEqual([
      { id: 1, qty: 1 },
      { id: 2, qty: 20 },
    ]);
    expect(read(hubDb, 'SELECT version FROM crsync_migrations ORDER BY version')).toEqual([[1], [2], [3]]);
  });
});
