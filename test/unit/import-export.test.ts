import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { openStore, type Store } from '../../src/db/store.js';
import { importFile, type ImportOptions } from '../../src/formats/import.js';
import { exportTable } from '../../src/formats/export.js';
import { isReplicated } from '../../src/db/schema/read.js';
import type { DataFormat } from '../../src/formats/readers.js';
import { CrsyncError } from '../../src/errors.js';
import type { SqlValue } from '../../src/values.js';
import { tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
const stores: Store[] = [];
beforeEach(() => (tmp = tempDir()));
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  tmp.cleanup();
});

function store(name = 'a.db'): Store {
  const s = openStore(tmp.path(name), { create: true });
  stores.push(s);
  return s;
}

function rows(s: Store, sql: string): Record<string, SqlValue>[] {
  return s.db.prepare(sql).safeIntegers(true).all() as Record<string, SqlValue>[];
}

function write(name: string, text: string | Buffer): string {
  const p = tmp.path(name);
  writeFileSync(p, text);
  return p;
}

async function importError(s: Store, options: ImportOptions): Promise<CrsyncError> {
  try {
    await importFile(s, options);
  } catch (err) {
    expect(err).toBeInstanceOf(CrsyncError);
    return err as CrsyncError;
  }
  throw new Error('import did not fail');
}

/** One value of every kind SQLite stores, including the ones that are easy to get wrong. */
const VALUES: [string, SqlValue][] = [
  ['int-zero', 0n],
  ['int-neg', -1n],
  ['int-max', 9223372036854775807n],
  ['int-min', -9223372036854775808n],
  ['int-2^53+1', 9007199254740993n],
  ['real-3.0', 3],
  ['real-0.1', 0.1],
  ['real-tiny', -2.5e-300],
  ['real-big', 1e300],
  ['text-empty', ''],
  ['text-unicode', 'héllo 日本 🇦🇼 ✓'],
  ['text-csv-hostile', 'a,"b"\r\nc\n'],
  ['text-looks-int', '3'],
  ['text-looks-real', '3.0'],
  ['text-looks-blob', '\\xdead'],
  ['text-looks-null', 'null'],
  ['text-json', '{"$blob":"00"}'],
  ['blob', Buffer.from([0, 1, 0xfe, 0xff])],
  ['blob-empty', Buffer.alloc(0)],
  ['null', null],
];

function seed(s: Store): void {
  s.db.exec('CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, v, n)');
  s.db.prepare('SELECT crsql_as_crr(?)').run('t');
  const ins = s.db.prepare('INSERT INTO t (k, v, n) VALUES (?, ?, ?)');
  VALUES.forEach(([k, v], i) => ins.run(k, v, BigInt(i)));
}

const typed = (s: Store): string[] =>
  rows(s, 'SELECT k, v, typeof(v) AS type, n, typeof(n) AS ntype FROM t ORDER BY k').map((r) =>
    [r.k, r.type, r.v instanceof Uint8Array ? Buffer.from(r.v).toString('hex') : String(r.v), r.n, r.ntype].join('|'),
  );

describe('export then import', () => {
  for (const format of ['csv', 'ndjson', 'json'] as DataFormat[]) {
    it(`gives back every value with its type (${format})`, async () => {
      const a = store('a.db');
      seed(a);
      const file = tmp.path(`t.${format}`);
      const exported = await exportTable(a, { table: 't', format, file, stdout: process.stdout });
      expect(exported).toMatchObject({ table: 't', format, rows: VALUES.length });
      // Only the file: the temp file was renamed.
      expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp'))).toEqual([]);

      const b = store('b.db');
      const result = await importFile(b, { table: 't', file, create: true, pk: ['k'] });
      expect(result).toMatchObject({ rows: VALUES.length, skipped: 0, created: true, format });
      expect(isReplicated(b.db, 't')).toBe(true);
      expect(typed(b)).toEqual(typed(a));
      const blob = rows(b, "SELECT v FROM t WHERE k = 'blob'")[0]!.v;
      expect(Buffer.from(blob as Uint8Array).equals(Buffer.from([0, 1, 0xfe, 0xff]))).toBe(true);
    });
  }

  it('writes rows in primary-key order, and a second export of the re-import is byte-identical', async () => {
    const a = store('a.db');
    seed(a);
    for (const format of ['csv', 'ndjson', 'json'] as DataFormat[]) {
      const first = tmp.path(`1.${format}`);
      await exportTable(a, { table: 't', format, file: first, stdout: process.stdout });
      const b = store(`b-${format}.db`);
      await importFile(b, { table: 't', file: first, create: true, pk: ['k'] });
      const second = tmp.path(`2.${format}`);
      await exportTable(b, { table: 't', format, file: second, stdout: process.stdout });
      expect(readFileSync(second, 'utf8')).toBe(readFileSync(first, 'utf8'));
    }
    const ndjson = readFileSync(tmp.path('1.ndjson'), 'utf8').trim().split('\n');
    const keys = ndjson.map((l) => (JSON.parse(l) as { k: string }).k);
    expect(keys).toEqual([...keys].sort());
  });

  it('streams an export to a writable with backpressure', async () => {
    const a = store();
    a.db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, s)');
    a.db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO big (s) SELECT printf('row %d', i) FROM n");
    let text = '';
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        setImmediate(cb);
      },
    });
    const r = await exportTable(a, { table: 'big', format: 'ndjson', stdout: slow });
    expect(r.rows).toBe(20000);
    expect(text.trim().split('\n')).toHaveLength(20000);
  });
});

describe('import: CSV', () => {
  it('types fields by crsync CSV rules and reads quotes, CRLF, a BOM and blank lines', async () => {
    const s = store();
    const file = write('a.csv', '\uFEFFid,name,qty,price,data\r\n1,"a ""q""\r\nb",3,3.0,\\x00ff\r\n\r\n2,,,1e3,x\r\n');
    await importFile(s, { table: 'items', file, create: true, pk: ['id'] });
    expect(rows(s, 'SELECT *, typeof(qty) AS tq, typeof(price) AS tp, typeof(data) AS td FROM items ORDER BY id')).toEqual([
      { id: 1n, name: 'a "q"\r\nb', qty: 3n, price: 3, data: Buffer.from([0, 255]), tq: 'integer', tp: 'real', td: 'blob' },
      { id: 2n, name: null, qty: null, price: 1000, data: 'x', tq: 'null', tp: 'real', td: 'text' },
    ]);
  });

  it('reads the same records whatever the chunk boundaries', async () => {
    const text = 'k,v\n"a\nb",1\n"c""d",2.5\n e ,\\x00\n';
    const whole = store('whole.db');
    await importFile(whole, { table: 't', file: write('t.csv', text), create: true, pk: ['k'] });
    const bytes = Buffer.from(text);
    const split = store('split.db');
    const input = Readable.from([...bytes].map((b) => Buffer.from([b])));
    await importFile(split, { table: 't', file: '-', input, format: 'csv', create: true, pk: ['k'] });
    expect(rows(split, 'SELECT * FROM t ORDER BY k')).toEqual(rows(whole, 'SELECT * FROM t ORDER BY k'));
    expect(rows(split, 'SELECT count(*) AS n FROM t')[0]!.n).toBe(3n);
  });

  it('a malformed line anywhere imports nothing and names the line', async () => {
    const s = store();
    const good = Array.from({ length: 50 }, (_, i) => `${i},"r${i}"`).join('\n');
    const file = write('bad.csv', `id,name\n${good}\n50,"x"y\n51,"z"\n`);
    const err = await importError(s, { table: 'items', file, create: true, pk: ['id'], batch: 10 });
    expect(err.code).toBe('bad_input');
    expect(err.message).toMatch(/line 52\b/);
    // --create is undone too: the database is as before.
    expect(rows(s, "SELECT name FROM sqlite_master WHERE name LIKE 'items%'")).toEqual([]);

    s.db.exec('CREATE TABLE items (id NOT NULL PRIMARY KEY, name)');
    s.db.prepare("SELECT crsql_as_crr('items')").run();
    s.db.prepare("INSERT INTO items VALUES (1000, 'kept')").run();
    for (const [text, line, what] of [
      ['id,name\n1,"a"\n2\n', 3, /expected 2 fields, found 1/],
      ['id,name\n1,"a"\n2,b"c\n', 3, /quote inside an unquoted field/],
      ['id,name\n1,"a"\n2,"never closed\n3,c\n', 3, /never closed/],
      ['id,name\n1,"a"\n2,"closed"x\n', 3, /text after a closing quote/],
      ['id,name\n1,"a"\n1,"dup"\n', 3, /UNIQUE constraint failed/],
    ] as const) {
      const e = await importError(s, { table: 'items', file: write('x.csv', text) });
      expect(e.code).toBe('bad_input');
      expect(e.message).toContain(`line ${line} of`);
      expect(e.message).toMatch(what);
      expect(rows(s, 'SELECT * FROM items')).toEqual([{ id: 1000n, name: 'kept' }]);
    }
  });

  it('--skip-bad skips bad lines, reports them and imports the rest', async () => {
    const s = store();
    const file = write('bad.csv', 'id,name\n1,"a"\n2,"b"x\n3,"c\nd"\n4\n5,"e"\n6,f"g\n7,"h"\n');
    const r = await importFile(s, { table: 't', file, create: true, pk: ['id'], skipBad: true, batch: 2 });
    expect(r).toMatchObject({ rows: 4, skipped: 3, badLines: [3, 6, 8] });
    expect(r.badLineErrors[1]).toBe('line 6: expected 2 fields, found 1');
    expect(rows(s, 'SELECT id, name FROM t ORDER BY id')).toEqual([
      { id: 1n, name: 'a' },
      { id: 3n, name: 'c\nd' },
      { id: 5n, name: 'e' },
      { id: 7n, name: 'h' },
    ]);
  });

  it('--skip-bad keeps batches committed before a fatal error, and says so', async () => {
    const s = store();
    const file = write('bad.csv', 'id\n1\n2\n3\n"4\n5\n');
    const err = await importError(s, { table: 't', file, create: true, pk: ['id'], skipBad: true, batch: 2 });
    expect(err.message).toMatch(/line 5 of .*never closed.*2 rows imported before it stay/);
    expect(rows(s, 'SELECT id FROM t ORDER BY id')).toEqual([{ id: 1n }, { id: 2n }]);
  });

  it('--create without a key adds an id of random UUIDs, filled again on later imports', async () => {
    const s = store();
    const file = write('notes.csv', 'title,body\n"a","x"\n"b","y"\n');
    await importFile(s, { table: 'notes', file, create: true });
    await importFile(s, { table: 'notes', file });
    const all = rows(s, 'SELECT * FROM notes');
    expect(all).toHaveLength(4);
    for (const r of all) expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(all.map((r) => r.id)).size).toBe(4);
    expect(rows(s, "SELECT name, pk FROM pragma_table_info('notes') WHERE pk > 0")).toEqual([{ name: 'id', pk: 1n }]);
    expect(isReplicated(s.db, 'notes')).toBe(true);

    const withId = write('ids.csv', 'id,title\n"x","a"\n');
    const e = await importError(s, { table: 'other', file: withId, create: true });
    expect(e.message).toMatch(/has an id column/);
  });

  it('maps columns by header name and names the unknown ones', async () => {
    const s = store();
    s.db.exec('CREATE TABLE t (a NOT NULL PRIMARY KEY, b, c DEFAULT 7)');
    await importFile(s, { table: 't', file: write('ok.csv', 'B,a\n"x",1\n') });
    expect(rows(s, 'SELECT * FROM t')).toEqual([{ a: 1n, b: 'x', c: 7n }]);
    const e = await importError(s, { table: 't', file: write('x.csv', 'a,bb,zz\n1,2,3\n') });
    expect(e.code).toBe('unknown_columns');
    expect(e.message).toContain('bb, zz');
  });

  it('refuses a missing file, an unknown extension, a missing table and --create over a table', async () => {
    const s = store();
    expect((await importError(s, { table: 't', file: tmp.path('nope.csv'), create: true })).code).toBe('file_not_found');
    expect((await importError(s, { table: 't', file: write('a.txt', 'a\n1\n'), create: true })).code).toBe('unknown_format');
    expect((await importError(s, { table: 't', file: write('a.csv', 'a\n1\n') })).code).toBe('no_such_table');
    s.db.exec('CREATE TABLE t (a PRIMARY KEY)');
    expect((await importError(s, { table: 't', file: tmp.path('a.csv'), create: true })).code).toBe('table_exists');
    expect((await importError(s, { table: 'crsync_meta', file: tmp.path('a.csv') })).code).toBe('usage');
  });
});

describe('import: NDJSON and JSON', () => {
  const line1 =
    '{"k":"a","i":9223372036854775807,"j":9007199254740993,"r":3.0,"e":1e3,"t":true,"f":false,' +
    '"n":null,"o":{"x":1.50,"y":[1,2]},"b":{"$blob":"00ff"},"u":"日本 🇦🇼","s":""}';

  const expectTyped = (s: Store): void => {
    expect(rows(s, "SELECT * FROM t WHERE k = 'a'")[0]).toEqual({
      k: 'a',
      i: 9223372036854775807n,
      j: 9007199254740993n,
      r: 3,
      e: 1000,
      t: 1n,
      f: 0n,
      n: null,
      o: '{"x":1.50,"y":[1,2]}',
      b: Buffer.from([0, 255]),
      u: '日本 🇦🇼',
      s: '',
    });
    expect(rows(s, "SELECT typeof(r) AS r, typeof(e) AS e, typeof(j) AS j FROM t WHERE k = 'a'")[0]).toEqual({ r: 'real', e: 'real', j: 'integer' });
  };

  it('NDJSON: numbers typed by spelling, booleans 1/0, nested values as JSON text, blobs; blank lines ignored', async () => {
    const s = store();
    const file = write('a.ndjson', `${line1}\n\n{"k":"b"}\r\n`);
    const r = await importFile(s, { table: 't', file, create: true, pk: ['k'] });
    expect(r.rows).toBe(2);
    expectTyped(s);
    // Keys missing from an object take the column's default (NULL here).
    expect(rows(s, "SELECT i FROM t WHERE k = 'b'")).toEqual([{ i: null }]);
  });

  it('JSON array: the same values, streamed whatever the chunk boundaries', async () => {
    const s = store();
    const text = `[\n  ${line1},\n  {"k":"b"}\n]\n`;
    const input = Readable.from([...Buffer.from(text)].map((b) => Buffer.from([b])));
    await importFile(s, { table: 't', file: '-', input, format: 'json', create: true, pk: ['k'] });
    expectTyped(s);
  });

  it('bad NDJSON lines and JSON elements name their line; --skip-bad skips them', async () => {
    const s = store();
    s.db.exec('CREATE TABLE t (k NOT NULL PRIMARY KEY, v)');
    const nd = write('b.ndjson', '{"k":"a"}\n[1]\n{bad\n{"k":"d","zz":1}\n"str"\n{"k":"e","v":{"$blob":"xyz"}}\n{"k":"f"}\n');
    const e = await importError(s, { table: 't', file: nd });
    expect(e.message).toMatch(/^line 2 of .*b\.ndjson: expected a JSON object, found an array$/);
    expect(rows(s, 'SELECT * FROM t')).toEqual([]);
    const r = await importFile(s, { table: 't', file: nd, skipBad: true });
    expect(r).toMatchObject({ rows: 2, skipped: 5, badLines: [2, 3, 4, 5, 6] });
    expect(r.badLineErrors[2]).toMatch(/unknown column zz/);

    const js = write('c.json', '[{"k":"x","v":1},\n  {"k":"y","v":2.5},\n  3,\n  {"k":"z","v":{"$blob":"ab"}}]');
    expect((await importError(s, { table: 't', file: js })).message).toMatch(/^line 3 of .*found a number$/);
    expect(await importFile(s, { table: 't', file: js, skipBad: true })).toMatchObject({ rows: 3, skipped: 1, badLines: [3] });
  });

  it('broken JSON array syntax fails even with --skip-bad, naming the line', async () => {
    const s = store();
    for (const [text, line, what] of [
      ['[{"k":"x"},\n {"k": tru}]\n', 2, /invalid JSON/],
      ['[{"k":"x"}\n', 1, /invalid JSON at the end of the file/],
      ['{"k":"x"}\n', 1, /expected a JSON array/],
      ['\n\n', 1, /empty/],
    ] as const) {
      const e = await importError(s, { table: 't', file: write('x.json', text), create: true, pk: ['k'], skipBad: true });
      expect(e.code).toBe('bad_input');
      expect(e.message).toContain(`line ${line} of`);
      expect(e.message).toMatch(what);
      expect(rows(s, "SELECT name FROM sqlite_master WHERE name = 't'")).toEqual([]);
    }
  });

  it('invalid UTF-8 is an error naming its line', async () => {
    const s = store();
    const file = write('u.csv', Buffer.concat([Buffer.from('a,b\n1,"x"\n2,"'), Buffer.from([0xff]), Buffer.from('"\n')]));
    const e = await importError(s, { table: 't', file, create: true, pk: ['a'] });
    expect(e.message).toMatch(/line 3 of .*not valid UTF-8/);
  });
});
