import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crsync, crsyncJson, tempDir } from '../helpers.js';
import { makeReplica, rows, sql } from './sync-helpers.js';
import { doctorSchema, migrateJson, snapshot } from './migrate-helpers.js';

let tmp: ReturnType<typeof tempDir>;
let a: string;

beforeEach(async () => {
  tmp = tempDir('crsync-migrate-');
  a = tmp.path('a.db');
  await makeReplica(a);
  await sql(a, "insert into t (id, name, qty) values (1, 'one', 1), (2, 'two', 2)");
});

afterEach(() => tmp.cleanup());

interface ErrorJson {
  error: { code: string; message: string; hint?: string; details?: { refused?: { statement: number; sql: string; reason: string }[]; statement?: number } };
}

describe('crsync migrate', () => {
  it('runs a file in one step, prints one line per statement and the new version, and status/doctor show it', async () => {
    const file = tmp.path('001-color.sql');
    writeFileSync(
      file,
      `-- colour for every item
ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red';
UPDATE t SET color = 'blue' WHERE id = 2;
CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT);
INSERT INTO notes VALUES (1, 'first');
`,
    );
    const human = await crsync(['-d', a, 'migrate', file, '--track', 'notes']);
    expect(human.exitCode, human.stderr).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\s*1\s+add column\s+ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'$/);
    expect(lines[1]).toMatch(/^\s*2\s+write\s+UPDATE t SET color = 'blue' WHERE id = 2$/);
    expect(lines).toContain('replicated notes');
    expect(lines[lines.length - 1]).toMatch(/^schema version 1 \(was 0\), hash [0-9a-f]{12} · \d+ ms$/);

    expect(await rows(a)).toEqual([
      { id: 1, name: 'one', qty: 1, price: null, data: null, color: 'red' },
      { id: 2, name: 'two', qty: 2, price: null, data: null, color: 'blue' },
    ]);
    const tracked = await crsyncJson<{ name: string }[]>(['-d', a, 'track', '--list']);
    expect(tracked.json.map((t) => t.name)).toEqual(['notes', 't']);

    const second = await migrateJson(a, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX notes_pinned ON notes (pinned)");
    expect(second.exitCode).toBe(0);
    expect(second.json).toMatchObject({ db: a, tracked: [], altered: ['notes'], schemaChanged: true, previousVersion: 1, schemaVersion: 2, dryRun: false });
    expect(second.json.statements).toEqual([
      { index: 1, kind: 'add_column', table: 'notes', sql: 'ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0' },
      { index: 2, kind: 'create_index', table: 'notes', sql: 'CREATE INDEX notes_pinned ON notes (pinned)' },
    ]);
    expect(second.json.ms).toBeGreaterThanOrEqual(0);

    expect(await doctorSchema(a)).toEqual({ version: 2, hash: second.json.schemaHash });
    const status = await crsyncJson<{ schema: { version: number; hash: string } }>(['-d', a, 'status']);
    expect(status.json.schema).toEqual({ version: 2, hash: second.json.schemaHash });
  });

  it('refuses a drop before running anything, naming the statement and the reason', async () => {
    const before = snapshot(a);
    const r = await migrateJson<ErrorJson>(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red';\nALTER TABLE t DROP COLUMN qty;\nDROP TABLE t");
    expect(r.exitCode).toBe(1);
    expect(r.json.error.code).toBe('unsafe_migration');
    expect(r.json.error.details?.refused).toEqual([
      { statement: 2, sql: 'ALTER TABLE t DROP COLUMN qty', reason: expect.stringMatching(/^it drops column t\.qty/) },
      { statement: 3, sql: 'DROP TABLE t', reason: expect.stringMatching(/^it drops replicated table t/) },
    ]);
    expect(snapshot(a)).toEqual(before);

    const human = await crsync(['-d', a, 'migrate', '-'], { input: 'CREATE UNIQUE INDEX t_name ON t (name)' });
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain('error: migration refused, nothing ran: statement 1 (CREATE UNIQUE INDEX t_name ON t (name)): it creates a unique index on replicated table t');
    expect(snapshot(a)).toEqual(before);
  });

  it('a dry run shows the outcome and keeps the database as it was', async () => {
    const before = snapshot(a);
    const r = await migrateJson(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'", ['--dry-run']);
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({ dryRun: true, schemaChanged: true, schemaVersion: 1 });
    expect(snapshot(a)).toEqual(before);
  });

  it('bad input: missing file, empty migration, --track of a table that is not there, SQL errors', async () => {
    const missing = await crsyncJson<ErrorJson>(['-d', a, 'migrate', tmp.path('nope.sql')]);
    expect([missing.exitCode, missing.json.error.code]).toEqual([1, 'file_not_found']);
    const empty = await migrateJson<ErrorJson>(a, '-- nothing here\n;;\n');
    expect([empty.exitCode, empty.json.error.code]).toEqual([1, 'empty_migration']);
    const noArg = await crsync(['-d', a, 'migrate']);
    expect(noArg.exitCode).toBe(2);

    const before = snapshot(a);
    const typo = await migrateJson<ErrorJson>(a, 'CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL)', ['--track', 'note']);
    expect(typo.exitCode).toBe(1);
    expect(typo.json.error.message).toMatch(/^migration rolled back, --track failed: no table named note/);
    const syntax = await migrateJson<ErrorJson>(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red';\nALTER TABLE t ADD COLUMN size INTEGER DEFAULT 0;\nUPDATE t SET colour = 'x'");
    expect(syntax.exitCode).toBe(1);
    expect(syntax.json.error).toMatchObject({ code: 'migration_failed', details: { statement: 3, sql: "UPDATE t SET colour = 'x'" } });
    expect(syntax.json.error.message).toBe("statement 3 failed: no such column: colour (in: UPDATE t SET colour = 'x')");
    expect(snapshot(a)).toEqual(before);
  });
});
