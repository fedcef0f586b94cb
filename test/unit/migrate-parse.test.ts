import { describe, expect, it } from 'vitest';
import { splitMigration, tokenize } from '../../src/sqltext/lex.js';
import { parseMigration } from '../../src/migrate/parse.js';
import { checkMigration } from '../../src/migrate/check.js';

const replicated = new Map([['items', 'items']]);
const refusalsOf = (sql: string): string[] => checkMigration(parseMigration(sql), replicated).refusals.map((r) => `${r.statement}: ${r.reason}`);

describe('splitting a migration', () => {
  it('splits at top-level semicolons only, keeping quotes, comments and trigger bodies whole', () => {
    const sql = `-- leading; comment
      ALTER TABLE items ADD COLUMN note TEXT DEFAULT 'a;b';
      /* block; comment */ CREATE TABLE "we;ird" (id INTEGER PRIMARY KEY NOT NULL, [x;y] TEXT);
      CREATE TRIGGER tr AFTER INSERT ON "we;ird" BEGIN
        UPDATE "we;ird" SET [x;y] = CASE WHEN new.id > 1 THEN 'big' ELSE 'small' END WHERE id = new.id;
        INSERT INTO items (id) VALUES (new.id);
      END;
      ;;
      SELECT 1`;
    const parts = splitMigration(sql);
    expect(parts.map((p) => p.sql.split('\n')[0]!.trim())).toEqual([
      "ALTER TABLE items ADD COLUMN note TEXT DEFAULT 'a;b';",
      'CREATE TABLE "we;ird" (id INTEGER PRIMARY KEY NOT NULL, [x;y] TEXT);',
      'CREATE TRIGGER tr AFTER INSERT ON "we;ird" BEGIN',
      'SELECT 1',
    ]);
    expect(parts[2]!.sql.trim().endsWith('END;')).toBe(true);
  });

  it('unquotes identifiers and strings and keeps numbers whole', () => {
    const values = tokenize(`"a""b" [c d] \`e\` 'it''s' x'0aff' 1.5e-3 0x1F`).map((t) => [t.type, t.value]);
    expect(values).toEqual([
      ['ident', 'a"b'],
      ['ident', 'c d'],
      ['ident', 'e'],
      ['string', "it's"],
      ['blob', "x'0aff'"],
      ['number', '1.5e-3'],
      ['number', '0x1F'],
    ]);
  });
});

describe('classifying statements', () => {
  it('recognizes the shapes the checks care about, with their tables and columns', () => {
    const s = parseMigration(`
      alter table main."Items" add column "col 1" integer not null default -1;
      ALTER TABLE items DROP COLUMN a;
      ALTER TABLE items RENAME TO things;
      ALTER TABLE items RENAME a TO b;
      CREATE TEMP TABLE scratch (x);
      CREATE UNIQUE INDEX IF NOT EXISTS ix ON items (a);
      DROP TABLE IF EXISTS main.items;
      INSERT OR REPLACE INTO items (id) VALUES (1);
      UPDATE OR IGNORE items SET a = 1;
      SAVEPOINT s1;
      VACUUM`);
    expect(s.map((x) => [x.kind, x.table, x.schema, x.column, x.newName])).toEqual([
      ['add_column', 'Items', null, 'col 1', null],
      ['drop_column', 'items', null, 'a', null],
      ['rename_table', 'items', null, null, 'things'],
      ['rename_column', 'items', null, 'a', 'b'],
      ['create_table', 'scratch', 'temp', null, null],
      ['create_index', 'items', null, null, null],
      ['drop_table', 'items', null, null, null],
      ['write', 'items', null, null, null],
      ['write', 'items', null, null, null],
      ['transaction', null, null, null, null],
      ['outside_transaction', null, null, null, null],
    ]);
    expect(s[0]!.flags).toMatchObject({ notnull: true, hasDefault: true, literalDefault: true });
    expect(s[5]!.unique).toBe(true);
  });

  it('tells literal defaults from expressions', () => {
    const literal = (def: string): boolean | undefined => parseMigration(`ALTER TABLE items ADD COLUMN c ${def}`)[0]!.flags?.literalDefault;
    for (const ok of ["DEFAULT 'x'", 'DEFAULT -2.5', 'DEFAULT (7)', 'DEFAULT NULL', "DEFAULT x'00'", "TEXT DEFAULT 'a' COLLATE NOCASE", 'DEFAULT TRUE']) {
      expect(literal(ok), ok).toBe(true);
    }
    for (const bad of ['DEFAULT (1 + 2)', "DEFAULT 'a' || 'b'", 'DEFAULT 0x10', 'DEFAULT (random())', 'DEFAULT .5']) {
      expect(literal(bad), bad).toBe(false);
    }
  });
});

describe('checking a migration against the replicated tables', () => {
  it('allows what cr-sqlite can carry', () => {
    const sql = `ALTER TABLE items ADD COLUMN color TEXT DEFAULT 'red';
      ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE items ADD COLUMN note TEXT;
      CREATE INDEX items_color ON items (color);
      UPDATE items SET color = 'blue';
      CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, body TEXT);
      CREATE UNIQUE INDEX notes_body ON notes (body);
      ALTER TABLE notes RENAME TO notes2;
      DROP TABLE scratch;
      CREATE TEMP TABLE items (x);
      DROP TABLE temp.items`;
    expect(refusalsOf(sql)).toEqual([]);
  });

  it('refuses each unsafe statement, naming it and the reason, whatever the case of the name', () => {
    const sql = `ALTER TABLE ITEMS DROP COLUMN name;
      ALTER TABLE items RENAME TO things;
      ALTER TABLE items RENAME COLUMN name TO title;
      CREATE UNIQUE INDEX u ON Items (name);
      ALTER TABLE items ADD COLUMN x TEXT NOT NULL;
      ALTER TABLE items ADD COLUMN y INTEGER PRIMARY KEY;
      ALTER TABLE items ADD COLUMN z TEXT DEFAULT (lower('A'));
      DROP TABLE items;
      SELECT crsql_begin_alter('items');
      COMMIT;
      PRAGMA foreign_keys = off;
      UPDATE items__crsql_clock SET col_version = 9`;
    const r = refusalsOf(sql);
    expect(r).toHaveLength(12);
    expect(r[0]).toMatch(/^1: it drops column items\.name/);
    expect(r[1]).toMatch(/^2: it renames replicated table items/);
    expect(r[2]).toMatch(/^3: it renames column items\.name/);
    expect(r[3]).toMatch(/^4: it creates a unique index on replicated table items/);
    expect(r[4]).toMatch(/^5: it adds NOT NULL column items\.x without a default/);
    expect(r[5]).toMatch(/^6: it adds primary-key column items\.y/);
    expect(r[6]).toMatch(/^7: the default of items\.z is not a plain literal/);
    expect(r[7]).toMatch(/^8: it drops replicated table items/);
    expect(r[8]).toMatch(/^9: it calls crsql_begin_alter/);
    expect(r[9]).toMatch(/^10: crsync migrate runs the whole file in one transaction/);
    expect(r[10]).toMatch(/^11: PRAGMA/);
    expect(r[11]).toMatch(/^12: it touches items__crsql_clock/);
  });

  it('names a table rebuild (the way to change a primary key) as such', () => {
    const r = refusalsOf(`CREATE TABLE items_new (id INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, name));
      INSERT INTO items_new SELECT id, name FROM items;
      DROP TABLE items;
      ALTER TABLE items_new RENAME TO items`);
    expect(r).toEqual([expect.stringMatching(/^3: it rebuilds replicated table items \(the way SQLite changes a primary key/)]);
  });
});

describe('planning the alter brackets', () => {
  it('brackets a run of ADD COLUMNs once per table and closes it before anything that writes', () => {
    const both = new Map([
      ['items', 'items'],
      ['other', 'other'],
    ]);
    const { refusals, steps } = checkMigration(
      parseMigration(`ALTER TABLE items ADD COLUMN a TEXT;
        CREATE INDEX ia ON items (a);
        ALTER TABLE Other ADD COLUMN b TEXT;
        ALTER TABLE items ADD COLUMN c TEXT;
        UPDATE items SET a = 'x';
        INSERT INTO other (id, b) VALUES (1, 'y');
        ALTER TABLE notes ADD COLUMN d TEXT;
        ALTER TABLE items ADD COLUMN e TEXT`),
      both,
    );
    const shown = steps.map((s) => (s.op === 'run' ? `run ${s.statement.index}` : `${s.op} ${s.table}`));
    expect(shown).toEqual([
      'begin_alter items', 'run 1', 'run 2', 'begin_alter other', 'run 3', 'run 4',
      'commit_alter items', 'commit_alter other', 'run 5', 'run 6', 'run 7',
      'begin_alter items', 'run 8', 'commit_alter items',
    ]);
    expect(refusals).toEqual([]);
  });

  it('refuses a write to a table whose ALTER cr-sqlite would not see in this transaction', () => {
    const r = refusalsOf(`UPDATE items SET name = 'x';
      ALTER TABLE items ADD COLUMN c TEXT;
      INSERT INTO items (id, c) VALUES (1, 'y');
      WITH v(x) AS (SELECT 1) INSERT INTO items (id) SELECT x FROM v`);
    expect(r).toEqual([
      expect.stringMatching(/^3: it writes to items after an ALTER of it/),
      expect.stringMatching(/^4: it writes to items after an ALTER of it/),
    ]);
  });
});
