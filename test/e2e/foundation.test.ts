import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { crsync, crsyncJson, tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

describe('init, track, sql, doctor through the CLI', () => {
  it('init prints path and site id, idempotently, and honours CRSYNC_DB', async () => {
    const db = tmp.path('r.db');
    const first = await crsyncJson<{ db: string; siteId: string; created: boolean }>(['init'], { env: { CRSYNC_DB: db } });
    expect(first.exitCode).toBe(0);
    expect(first.json).toEqual({ db, siteId: expect.stringMatching(/^[0-9a-f]{32}$/), created: true });
    const again = await crsyncJson<{ siteId: string; created: boolean }>(['-d', db, 'init']);
    expect(again.json.created).toBe(false);
    expect(again.json.siteId).toBe(first.json.siteId);
    const human = await crsync(['-d', db, 'init']);
    expect(human.stdout).toContain(first.json.siteId);
  });

  it('track replicates tables, lists them, and names what blocks one', async () => {
    const db = tmp.path('r.db');
    await crsync(['-d', db, 'init']);
    await crsync(['-d', db, 'sql', "CREATE TABLE a (id INTEGER PRIMARY KEY NOT NULL, v TEXT); CREATE TABLE b (id TEXT, v TEXT); INSERT INTO a VALUES (1,'x'),(2,'y')"]);
    const bad = await crsyncJson<{ error: { code: string; message: string } }>(['-d', db, 'track', 'b']);
    expect(bad.exitCode).toBe(1);
    expect(bad.json.error.code).toBe('not_trackable');
    expect(bad.json.error.message).toContain('table b has no primary key');
    const missing = await crsync(['-d', db, 'track', 'nope']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/no table named nope/);
    expect((await crsync(['-d', db, 'track', 'a'])).exitCode).toBe(0);
    const list = await crsyncJson(['-d', db, 'track', '--list']);
    expect(list.json).toEqual([{ name: 'a', rows: 2 }]);
  });

  it('sql prints tables, JSON with exact types, CSV, and reads stdin', async () => {
    const db = tmp.path('r.db');
    await crsync(['-d', db, 'init']);
    const script = `CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, big INTEGER, r REAL, s TEXT, b BLOB);
      SELECT crsql_as_crr('t');
      INSERT INTO t VALUES (1, 9223372036854775807, 3.0, '', x'00ff'), (2, NULL, 0.25, 'ünï', NULL);`;
    expect((await crsync(['-d', db, 'sql', '-'], { input: script })).exitCode).toBe(0);
    const json = await crsync(['-d', db, 'sql', 'SELECT * FROM t ORDER BY id', '--json']);
    expect(json.stdout).toContain('"big":9223372036854775807');
    expect(json.stdout).toContain('"r":3.0');
    expect(json.stdout).toContain('"b":{"$blob":"00ff"}');
    expect(JSON.parse(json.stdout)).toHaveLength(2);
    const csv = await crsync(['-d', db, 'sql', 'SELECT id, s, b FROM t ORDER BY id', '--csv']);
    expect(csv.stdout).toBe('"id","s","b"\n1,"",\\x00ff\n2,"ünï",\n');
    const table = await crsync(['-d', db, 'sql', 'SELECT id, s FROM t ORDER BY id']);
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+s$/);
    // A write to a replicated table made through crsync produces changes.
    await crsync(['-d', db, 'sql', "UPDATE t SET s = 'new' WHERE id = 1"]);
    const changes = await crsync(['-d', db, 'sql', "SELECT count(*) AS n FROM crsql_changes WHERE cid = 's'", '--json']);
    expect(JSON.parse(changes.stdout)[0].n).toBe(2);
  });

  it('a failing statement keeps nothing of the script', async () => {
    const db = tmp.path('r.db');
    await crsync(['-d', db, 'init']);
    await crsync(['-d', db, 'sql', 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL)']);
    const r = await crsyncJson<{ error: { code: string; message: string } }>(['-d', db, 'sql', 'INSERT INTO t VALUES (1); INSERT INTO nope VALUES (2)']);
    expect(r.exitCode).toBe(1);
    expect(r.json.error.code).toBe('sql_error');
    expect(r.json.error.message).toMatch(/statement 2 failed: no such table: nope/);
    const n = await crsync(['-d', db, 'sql', 'SELECT count(*) AS n FROM t', '--json']);
    expect(JSON.parse(n.stdout)).toEqual([{ n: 0 }]);
  });

  it('doctor reports versions, the extension and the database', async () => {
    const none = await crsyncJson<Record<string, unknown>>(['-d', tmp.path('absent.db'), 'doctor']);
    expect(none.exitCode).toBe(0);
    expect(none.json.db).toBeNull();
    expect(none.json).toMatchObject({ node: process.versions.node, crsqlite: { version: '0.16.3', loaded: true } });
    const db = tmp.path('r.db');
    const init = await crsyncJson<{ siteId: string }>(['-d', db, 'init']);
    const d = await crsyncJson<{ betterSqlite3: string; db: { siteId: string; dbVersion: number; tables: unknown[] } }>(['-d', db, 'doctor']);
    expect(d.json.betterSqlite3).toMatch(/^12\./);
    expect(d.json.db).toMatchObject({ path: db, siteId: init.json.siteId, dbVersion: 0, tables: [] });
  });
});

describe('errors and exit codes', () => {
  it('refuses a non-SQLite file with exit 1 and leaves it untouched', async () => {
    const p = tmp.path('data.csv');
    writeFileSync(p, 'a,b\n1,2\n');
    const r = await crsync(['-d', p, 'init']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: .*is not a SQLite database/m);
    expect(r.stderr).toMatch(/^hint: /m);
    expect(r.stdout).toBe('');
    expect(readFileSync(p, 'utf8')).toBe('a,b\n1,2\n');
  });

  it('a missing database is an error with a hint, not a new file', async () => {
    const r = await crsyncJson<{ error: { code: string; hint: string } }>(['-d', tmp.path('nope.db'), 'track', '--list']);
    expect(r.exitCode).toBe(1);
    expect(r.json.error.code).toBe('db_not_found');
    expect(r.json.error.hint).toMatch(/crsync init/);
  });

  it('usage errors exit 2, also as one JSON document', async () => {
    expect((await crsync(['frobnicate'])).exitCode).toBe(2);
    expect((await crsync(['track'])).exitCode).toBe(2);
    const j = await crsyncJson<{ error: { code: string } }>(['sql']);
    expect(j.exitCode).toBe(2);
    expect(j.json.error.code).toBe('usage');
    expect((await crsync(['--help'])).exitCode).toBe(0);
  });
});
