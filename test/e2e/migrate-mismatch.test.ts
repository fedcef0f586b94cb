import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ok, runJson, sql } from './sync-helpers.js';
import { allRows, columns, hubPairFixture, migrated, read } from './migrate-helpers.js';

interface MismatchJson {
  error: { code: string; message: string; hint: string; details: { mismatches: string[]; localOnly: string[]; remoteOnly: string[] } };
}

const { setup } = hubPairFixture('crsync-migrate-mismatch-');

describe('schema mismatches', () => {
  it('a diverged schema is exit 5 with the difference, and nothing moves either way', async () => {
    const { a, b, hubDb, url } = await setup();
    await migrated(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'");
    await ok(['-d', a, 'sync']);
    await migrated(b, 'ALTER TABLE t ADD COLUMN size INTEGER DEFAULT 0');
    await sql(b, "insert into t (id, name) values (3, 'only on b')");
    const hubBefore = allRows(hubDb);
    const bBefore = allRows(b);

    for (const verb of ['sync', 'push']) {
      const r = await runJson<MismatchJson>(['-d', b, verb]);
      expect([verb, r.exitCode, r.json.error.code]).toEqual([verb, 5, 'schema_mismatch']);
      expect(r.json.error.message).toContain('table t, column 6: local has size INTEGER DEFAULT 0, remote has color TEXT DEFAULT \'red\'');
      expect(r.json.error.details.mismatches).toHaveLength(1);
      // No migration mends a changed column: the hint says the way out, not --no-migrate.
      expect(r.json.error.hint).toContain('existing columns of a replicated table cannot change');
      expect(r.json.error.hint).toContain(`crsync clone ${url} <new.db>`);
      expect(r.json.error.hint).not.toContain('--no-migrate');
    }
    expect(allRows(hubDb)).toEqual(hubBefore);
    expect(columns(hubDb)).toEqual(['id', 'name', 'qty', 'price', 'data', 'color']);
    expect(allRows(b)).toEqual(bBefore);
    expect(columns(b)).toEqual(['id', 'name', 'qty', 'price', 'data', 'size']);
  });

  it('--no-migrate refuses to carry a schema difference either way (exit 5, nothing moved)', async () => {
    const { a, b, hubDb } = await setup();
    await migrated(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'; UPDATE t SET color = 'blue' WHERE id = 1");

    /** The command exits 5 naming the column, and the side that lacks it keeps its columns and rows. */
    async function refused(db: string, verb: string, says: string, side: 'localOnly' | 'remoteOnly', untouched: string): Promise<void> {
      const before = allRows(untouched);
      const r = await runJson<MismatchJson>(['-d', db, verb, '--no-migrate']);
      expect([verb, r.exitCode]).toEqual([verb, 5]);
      expect(r.json.error.message).toContain(says);
      expect(r.json.error.hint).toBe('the difference is additive: sync without --no-migrate to carry it over');
      expect(r.json.error.details[side]).toEqual(['column t.color']);
      expect(columns(untouched)).toEqual(['id', 'name', 'qty', 'price', 'data']);
      expect(allRows(untouched)).toEqual(before);
    }
    await refused(a, 'sync', 'this replica has column t.color (--no-migrate)', 'localOnly', hubDb);
    await ok(['-d', a, 'push', '--create']);
    await refused(b, 'pull', 'the remote has column t.color (--no-migrate)', 'remoteOnly', b);
    await ok(['-d', b, 'pull']);
    expect(read(b, 'SELECT id, color FROM t ORDER BY id')).toEqual([
      [1, 'blue'],
      [2, 'red'],
    ]);
  });

  it('a primary key of another type is exit 5 with the real fix, never "sync without --no-migrate"', async () => {
    const { a, url, hubDb } = await setup();
    const c = join(dirname(a), 'c.db');
    await ok(['-d', c, 'init']);
    await migrated(c, 'CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, data BLOB)', ['--track', 't']);
    await ok(['-d', c, 'remote', 'add', 'origin', url]);
    const hubBefore = allRows(hubDb);
    for (const args of [['sync'], ['pull'], ['push'], ['sync', '--no-migrate'], ['pull', '--no-migrate']]) {
      const r = await runJson<MismatchJson>(['-d', c, ...args]);
      const why = args.join(' ');
      expect([why, r.exitCode, r.json.error.code]).toEqual([why, 5, 'schema_mismatch']);
      expect(r.json.error.message, why).toContain('local has id TEXT PRIMARY KEY NOT NULL, remote has id INTEGER PRIMARY KEY NOT NULL');
      expect(r.json.error.hint, why).toMatch(/^the primary key of t differs from the remote's: rows with different keys cannot merge, and no migration changes a key; clone the remote/);
      expect(r.json.error.hint, why).toContain(`crsync clone ${url} <new.db>`);
      expect(r.json.error.hint, why).not.toContain('--no-migrate');
    }
    expect(allRows(hubDb)).toEqual(hubBefore);
  });
});
