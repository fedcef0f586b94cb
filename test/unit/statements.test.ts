import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, dbVersion, type Store } from '../../src/db/store.js';
import { schemaCookie, stmt } from '../../src/db/statements.js';
import { tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
beforeEach(() => {
  tmp = tempDir();
  store = openStore(tmp.path('a.db'), { create: true });
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

describe('stmt', () => {
  it('prepares once per connection: the same Statement object comes back', () => {
    const a = stmt(store.db, 'SELECT crsql_db_version()', { pluck: true, safeIntegers: true });
    expect(stmt(store.db, 'SELECT crsql_db_version()', { pluck: true, safeIntegers: true })).toBe(a);
    expect(a.get()).toBe(0n);
    const other = openStore(tmp.path('a.db'));
    try {
      expect(stmt(other.db, 'SELECT crsql_db_version()', { pluck: true, safeIntegers: true })).not.toBe(a);
    } finally {
      other.close();
    }
  });

  it('keeps one statement per mode, so callers never see each other’s mode', () => {
    const sql = 'SELECT 1 AS one, 2 AS two';
    expect(stmt(store.db, sql).get()).toEqual({ one: 1, two: 2 });
    expect(stmt(store.db, sql, { pluck: true }).get()).toBe(1);
    expect(stmt(store.db, sql, { raw: true, safeIntegers: true }).get()).toEqual([1n, 2n]);
    expect(stmt(store.db, sql).get()).toEqual({ one: 1, two: 2 });
    expect(stmt(store.db, sql, { pluck: true })).not.toBe(stmt(store.db, sql));
  });

  it('keeps working across a schema change, and the cookie follows every change from any connection', () => {
    store.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
    store.db.prepare("SELECT crsql_as_crr('t')").get();
    const before = schemaCookie(store.db);
    const count = stmt(store.db, 'SELECT count(*) FROM t', { pluck: true });
    store.db.exec("INSERT INTO t VALUES (1, 'a')");
    expect(count.get()).toBe(1);
    const other = openStore(tmp.path('a.db'));
    try {
      other.db.exec("ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'");
    } finally {
      other.close();
    }
    expect(schemaCookie(store.db)).toBeGreaterThan(before);
    expect(stmt(store.db, 'SELECT count(*) FROM t', { pluck: true })).toBe(count);
    expect(count.get()).toBe(1);
    expect(dbVersion(store.db)).toBe(1n);
  });
});
