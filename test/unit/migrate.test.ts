import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMigration } from '../../src/db/schema/migrate.js';
import { withStore } from '../../src/db/store.js';
import { CrsyncError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
let db: string;

function query(sql: string): unknown[] {
  return withStore(db, {}, (s) => s.db.prepare(sql).raw(true).all());
}

function exec(sql: string): void {
  withStore(db, { create: true }, (s) => s.db.exec(sql));
}

/** Cells of crsql_changes as [table, cid, value], in order. */
const changes = (): unknown[] => query('SELECT "table", cid, val FROM crsql_changes ORDER BY db_version, seq');
const migrate = (sql: string, extra: { track?: string[]; dryRun?: boolean } = {}) => runMigration({ dbPath: db, sql, source: 'test.sql', ...extra });

beforeEach(() => {
  tmp = tempDir('crsync-migrate-unit-');
  db = tmp.path('a.db');
  exec("CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT); SELECT crsql_as_crr('items'); INSERT INTO items VALUES (1, 'one');");
});

afterEach(() => tmp.cleanup());

describe('runMigration', () => {
  it('closes the alter before any write, so writes in the same file replicate in full', () => {
    exec("CREATE TABLE other (id INTEGER PRIMARY KEY NOT NULL, v TEXT); SELECT crsql_as_crr('other');");
    const r = migrate(`ALTER TABLE items ADD COLUMN color TEXT DEFAULT 'red';
      ALTER TABLE items ADD COLUMN size INTEGER DEFAULT 0;
      ALTER TABLE other ADD COLUMN w TEXT;
      UPDATE items SET color = 'blue' WHERE id = 1;
      INSERT INTO items (id, name, size) VALUES (2, 'two', 5);
      INSERT INTO other (id, v) VALUES (1, 'x')`);
    expect(r).toMatchObject({ altered: ['items', 'other'], schemaChanged: true, previousVersion: 0, schemaVersion: 1, tracked: [], dryRun: false });
    expect(r.statements.map((s) => s.kind)).toEqual(['add_column', 'add_column', 'add_column', 'write', 'write', 'write']);
    expect(changes()).toEqual([
      ['items', 'name', 'one'],
      ['items', 'color', 'blue'],
      ['items', 'name', 'two'],
      ['items', 'color', 'red'],
      ['items', 'size', 5],
      ['other', 'v', 'x'],
      ['other', 'w', null],
    ]);
    expect(query("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'items__crsql_%'")).toEqual([[3]]);
  });

  it('refuses a write to a table altered after cr-sqlite read its layout in the same transaction', () => {
    const sql = `ALTER TABLE items ADD COLUMN color TEXT DEFAULT 'red';
      UPDATE items SET color = 'blue' WHERE id = 1;
      ALTER TABLE items ADD COLUMN size INTEGER DEFAULT 0;
      INSERT INTO items (id, name, size) VALUES (2, 'two', 5)`;
    expect(() => migrate(sql)).toThrow(/statement 4 \(INSERT INTO items .*\): it writes to items after an ALTER of it .* run this part as a second migration/);
    expect(changes()).toEqual([['items', 'name', 'one']]);
    // Split in two, the same change replicates in full.
    migrate(sql.split('\n').slice(0, 2).join('\n'));
    migrate(sql.split('\n').slice(2).join('\n'));
    expect(changes()).toContainEqual(['items', 'size', 5]);
  });

  it('counts versions only when the replicated schema changes, and records each migration', () => {
    expect(migrate("ALTER TABLE items ADD COLUMN a TEXT DEFAULT ''").schemaVersion).toBe(1);
    const indexOnly = migrate('CREATE INDEX items_name ON items (name); CREATE TABLE local_only (x)');
    expect(indexOnly).toMatchObject({ schemaChanged: false, schemaVersion: 1, previousVersion: 1 });
    const second = migrate('CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT)', { track: ['notes'] });
    expect(second).toMatchObject({ schemaChanged: true, schemaVersion: 2, tracked: ['notes'] });
    expect(query('SELECT version, source, hash = ? FROM crsync_migrations ORDER BY version'.replace('?', `'${second.schemaHash}'`))).toEqual([
      [1, 'migrate test.sql', 0],
      [2, 'migrate test.sql', 1],
    ]);
    expect(query("SELECT value FROM crsync_meta WHERE key = 'schema_version'")).toEqual([[2]]);
  });

  it('a dry run reports the outcome and changes nothing', () => {
    const before = query('SELECT type, name, sql FROM sqlite_master ORDER BY name');
    const r = migrate("ALTER TABLE items ADD COLUMN a TEXT DEFAULT 'x'; CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL)", { track: ['notes'], dryRun: true });
    expect(r).toMatchObject({ dryRun: true, schemaChanged: true, schemaVersion: 1, tracked: ['notes'], altered: ['items'] });
    expect(query('SELECT type, name, sql FROM sqlite_master ORDER BY name')).toEqual(before);
    expect(query('SELECT count(*) FROM crsync_migrations')).toEqual([[0]]);
  });

  it('a failure inside an open alter rolls everything back and leaves the table replicating', () => {
    const before = query('SELECT type, name, sql FROM sqlite_master ORDER BY name');
    let err: unknown;
    try {
      migrate("ALTER TABLE items ADD COLUMN a TEXT DEFAULT 'x';\nALTER TABLE items ADD COLUMN a TEXT DEFAULT 'y'");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CrsyncError);
    expect(err).toMatchObject({ code: 'migration_failed', details: { statement: 2 } });
    expect((err as Error).message).toContain("statement 2 failed: duplicate column name: a (in: ALTER TABLE items ADD COLUMN a TEXT DEFAULT 'y')");
    expect(query('SELECT type, name, sql FROM sqlite_master ORDER BY name')).toEqual(before);
    exec("INSERT INTO items VALUES (3, 'three')");
    expect(changes()).toContainEqual(['items', 'name', 'three']);
  });

  it('rolls back when a --track table cannot be replicated, naming the problem', () => {
    expect(() => migrate('CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT UNIQUE)', { track: ['notes'] })).toThrow(
      /migration rolled back, --track failed: cannot replicate: table notes has a UNIQUE constraint/,
    );
    expect(() => migrate('CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL)', { track: ['nots'] })).toThrow(/no table named nots/);
    expect(query("SELECT count(*) FROM sqlite_master WHERE name = 'notes'")).toEqual([[0]]);
  });
});
