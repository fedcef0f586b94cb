import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crsync, tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('crsync-json-');
});
afterEach(() => tmp.cleanup());

/** Parses stdout as exactly one JSON document (JSON.parse refuses two). */
function one(stdout: string): unknown {
  return JSON.parse(stdout);
}

async function replica(): Promise<string> {
  const db = tmp.path('a.db');
  await crsync(['init', '-d', db]);
  await crsync(['sql', '-d', db, "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')"]);
  await crsync(['track', 't', '-d', db]);
  return db;
}

describe('--json prints exactly one document', () => {
  it('for no command, --help, --version and usage errors', async () => {
    const none = await crsync(['--json']);
    expect(none.exitCode).toBe(2);
    expect(one(none.stdout)).toMatchObject({ error: { code: 'usage', message: 'no command given' } });
    const help = await crsync(['--json', 'push', '--help']);
    expect(help.exitCode).toBe(0);
    expect((one(help.stdout) as { help: string }).help).toContain('Usage: crsync push');
    const version = await crsync(['--version', '--json']);
    expect(one(version.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const bad = await crsync(['--json', 'push', '--bogus']);
    expect(bad.exitCode).toBe(2);
    expect(one(bad.stdout)).toMatchObject({ error: { code: 'usage' } });
  });

  it('crsync alone prints help on stderr and exits 2', async () => {
    const r = await crsync([]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: crsync');
  });

  it('export --json is a JSON array of rows; --format still chooses the file format with -o', async () => {
    const db = await replica();
    const r = await crsync(['export', 't', '-d', db, '--json']);
    expect(r.exitCode).toBe(0);
    expect(one(r.stdout)).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
    const file = tmp.path('t.out');
    const o = await crsync(['export', 't', '-d', db, '--json', '--format', 'csv', '-o', file]);
    expect(o.exitCode).toBe(0);
    expect(one(o.stdout)).toMatchObject({ rows: 2 });
    expect(readFileSync(file, 'utf8')).toContain('"a"');
    const clash = await crsync(['export', 't', '-d', db, '--json', '--format', 'csv']);
    expect(clash.exitCode).toBe(2);
    expect(one(clash.stdout)).toMatchObject({ error: { code: 'usage' } });
  });

  it('sql --json: a query is an array of rows, a write {"changes": n}, a script every result in order', async () => {
    const db = await replica();
    expect(one((await crsync(['sql', '-d', db, 'SELECT id FROM t ORDER BY id', '--json'])).stdout)).toEqual([{ id: 1 }, { id: 2 }]);
    expect(one((await crsync(['sql', '-d', db, "UPDATE t SET v = 'z'", '--json'])).stdout)).toEqual({ changes: 2 });
    const script = await crsync(['sql', '-d', db, 'SELECT 1 AS a; SELECT 2 AS b; CREATE TABLE x (y); INSERT INTO x VALUES (1)', '--json']);
    expect(one(script.stdout)).toEqual({
      results: [
        { statement: 1, columns: ['a'], rows: [{ a: 1 }] },
        { statement: 2, columns: ['b'], rows: [{ b: 2 }] },
        { statement: 3 },
        { statement: 4, changes: 1 },
      ],
      changes: 1,
    });
  });

  it('sql shows every result set, and DDL does not print "0 rows changed"', async () => {
    const db = await replica();
    const r = await crsync(['sql', '-d', db, 'SELECT 1 AS a; SELECT 2 AS b']);
    expect(r.stdout).toMatch(/a\n-\n1\n\nb\n-\n2\n/);
    const ddl = await crsync(['sql', '-d', db, 'CREATE TABLE y (z)']);
    expect(ddl.exitCode).toBe(0);
    expect(ddl.stderr).toBe('');
    // SQLite's changes() survives DDL: after an INSERT, a CREATE must not report its count.
    const mixed = await crsync(['sql', '-d', db, "INSERT INTO y VALUES (1), (2); CREATE TABLE w (v)"]);
    expect(mixed.stderr.trim()).toBe('2 rows changed');
  });
});

describe('commands that only look leave a plain SQLite file alone', () => {
  it('status, sql, log, conflicts, doctor, stats: not a crsync replica, exit 1, file unchanged', async () => {
    const file = tmp.path('plain.db');
    const d = new Database(file);
    d.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1)");
    d.close();
    const hash = (): string => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = hash();
    for (const args of [['status'], ['status', '--offline'], ['sql', 'SELECT * FROM t'], ['sql', 'INSERT INTO t VALUES (2)'], ['log'], ['conflicts'], ['doctor'], ['stats']]) {
      const r = await crsync([...args, '-d', file, '--json']);
      expect(r.exitCode, args.join(' ')).toBe(1);
      const doc = one(r.stdout) as { error?: { code: string; message: string }; dbError?: string };
      expect(doc.error?.message ?? doc.dbError, args.join(' ')).toContain('not a crsync replica: run crsync init');
      expect(hash(), args.join(' ')).toBe(before);
    }
    const human = await crsync(['log', '-d', file]);
    expect(human.stderr).toContain('error: not a crsync replica: run crsync init');
  });
});
