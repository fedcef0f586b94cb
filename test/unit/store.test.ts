import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openStore, siteId, dbVersion, withStore } from '../../src/db/store.js';
import { initReplica, trackTables, replicatedTableInfo } from '../../src/db/replica.js';
import { trackProblems, readReplicatedSchema } from '../../src/db/schema/read.js';
import { CrsyncError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

describe('openStore', () => {
  it('refuses a file that is not SQLite and leaves it byte for byte untouched', () => {
    const p = tmp.path('notes.txt');
    writeFileSync(p, 'hello, this is not a database\n');
    const before = readFileSync(p);
    expect(() => openStore(p)).toThrowError(CrsyncError);
    try {
      openStore(p, { create: true });
    } catch (err) {
      expect((err as CrsyncError).code).toBe('not_a_database');
    }
    expect(readFileSync(p).equals(before)).toBe(true);
  });

  it('refuses a missing file unless asked to create it', () => {
    expect(() => openStore(tmp.path('missing.db'))).toThrowError(/no database at/);
    const s = openStore(tmp.path('new.db'), { create: true });
    expect(s.created).toBe(true);
    s.close();
  });

  it('opens with WAL, synchronous=NORMAL and a busy timeout, and finalizes on close', () => {
    const s = openStore(tmp.path('a.db'), { create: true });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('synchronous', { simple: true })).toBe(1);
    expect(s.db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    expect(siteId(s.db)).toHaveLength(16);
    s.close();
    expect(s.db.open).toBe(false);
  });
});

describe('init and track', () => {
  it('init is idempotent and keeps the site id', () => {
    const a = initReplica(tmp.path('r.db'));
    const b = initReplica(tmp.path('r.db'));
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.siteId).toBe(a.siteId);
    expect(a.siteId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('adds bookkeeping to an existing plain SQLite file without losing its data', () => {
    const p = tmp.path('plain.db');
    const raw = new Database(p);
    raw.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT); INSERT INTO notes VALUES (1, 'kept')");
    raw.close();
    initReplica(p);
    withStore(p, {}, (s) => {
      expect(s.db.prepare('SELECT body FROM notes').pluck().get()).toBe('kept');
      expect(s.db.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'crsync_%'").pluck().get()).toBeGreaterThan(3);
    });
  });

  it('names each thing cr-sqlite cannot replicate', () => {
    const s = openStore(tmp.path('t.db'), { create: true });
    s.db.exec(`
      CREATE TABLE nopk (a TEXT);
      CREATE TABLE nullpk (id TEXT PRIMARY KEY, v TEXT);
      CREATE TABLE uniq (id INTEGER PRIMARY KEY NOT NULL, email TEXT UNIQUE);
      CREATE TABLE parent (id INTEGER PRIMARY KEY NOT NULL);
      CREATE TABLE child (id INTEGER PRIMARY KEY NOT NULL, parent_id INTEGER REFERENCES parent(id));
      CREATE TABLE nn (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL);
      CREATE TABLE good (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '');
    `);
    expect(trackProblems(s.db, 'nopk')).toEqual(['table nopk has no primary key']);
    expect(trackProblems(s.db, 'nullpk')).toEqual(['primary key column nullpk.id must be NOT NULL']);
    expect(trackProblems(s.db, 'uniq')[0]).toMatch(/UNIQUE constraint/);
    expect(trackProblems(s.db, 'child')[0]).toMatch(/child\.parent_id has a foreign-key constraint/);
    expect(trackProblems(s.db, 'nn')).toEqual(['NOT NULL column nn.name has no default']);
    expect(trackProblems(s.db, 'good')).toEqual([]);
    // All or nothing: one bad table means none is tracked.
    expect(() => trackTables(s, ['good', 'nn'])).toThrowError(/nn\.name has no default/);
    expect(replicatedTableInfo(s.db)).toEqual([]);
    const r = trackTables(s, ['good']);
    expect(r.tracked).toEqual(['good']);
    expect(trackTables(s, ['good']).alreadyTracked).toEqual(['good']);
    s.close();
  });

  it('gives the replicated schema a stable hash that changes with a column', () => {
    const s = openStore(tmp.path('h.db'), { create: true });
    s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, a TEXT)');
    trackTables(s, ['t']);
    const h1 = readReplicatedSchema(s.db).hash;
    expect(readReplicatedSchema(s.db).hash).toBe(h1);
    s.db.prepare("SELECT crsql_begin_alter('t')").run();
    s.db.exec("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 0");
    s.db.prepare("SELECT crsql_commit_alter('t')").run();
    expect(readReplicatedSchema(s.db).hash).not.toBe(h1);
    s.close();
  });

  it('writes to replicated tables produce changes at a new db_version', () => {
    const s = openStore(tmp.path('w.db'), { create: true });
    s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, a TEXT)');
    trackTables(s, ['t']);
    const v0 = dbVersion(s.db);
    s.db.exec("INSERT INTO t VALUES (1, 'x')");
    expect(dbVersion(s.db)).toBe(v0 + 1n);
    expect(s.db.prepare('SELECT count(*) FROM crsql_changes').pluck().get()).toBe(1);
    s.close();
  });
});

describe('track refuses what cr-sqlite 0.16 mishandles', () => {
  it('names needing quotes and AUTOINCREMENT keys', () => {
    const s = openStore(tmp.path('q.db'), { create: true });
    s.db.exec(`
      CREATE TABLE "my t" (id INTEGER PRIMARY KEY NOT NULL);
      CREATE TABLE u (id INTEGER PRIMARY KEY NOT NULL, "odd col" TEXT);
      CREATE TABLE w (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, v TEXT);
    `);
    expect(trackProblems(s.db, 'my t')[0]).toMatch(/table name "my t" needs quoting/);
    expect(trackProblems(s.db, 'u')[0]).toMatch(/u\."odd col" needs quoting/);
    expect(trackProblems(s.db, 'w')[0]).toMatch(/AUTOINCREMENT/);
    expect(() => trackTables(s, ['w'])).toThrowError(/AUTOINCREMENT/);
    s.close();
  });
});
