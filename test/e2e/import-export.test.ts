import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { crsync, crsyncJson, tempDir } from '../helpers.js';

// Real public data: the world-countries devDependency (250 countries, unicode names, flags, nested values).
const require = createRequire(import.meta.url);
const COUNTRIES = join(dirname(require.resolve('world-countries/package.json')), 'dist');

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

interface ImportJson {
  table: string;
  file: string;
  format: string;
  rows: number;
  skipped: number;
  badLines: number[];
  created: boolean;
  ms: number;
}
interface ErrorJson {
  error: { code: string; message: string; hint?: string };
}

async function newReplica(name: string): Promise<string> {
  const db = tmp.path(name);
  expect((await crsync(['-d', db, 'init'])).exitCode).toBe(0);
  return db;
}

/** Every row with every value's type, as `crsync sql --json` prints them (REAL as 3.0, blobs as $blob). */
async function dump(db: string, table = 'countries', key = 'cca3'): Promise<{ rows: string; types: string }> {
  const rows = await crsync(['-d', db, 'sql', `SELECT * FROM ${table} ORDER BY ${key}`, '--json']);
  expect(rows.exitCode).toBe(0);
  const cols = (await crsyncJson<{ name: string }[]>(['-d', db, 'sql', `SELECT name FROM pragma_table_info('${table}')`])).json;
  const typeSql = `SELECT ${cols.map((c) => `typeof("${c.name}")`).join(' || \',\' || ')} AS t FROM ${table} ORDER BY ${key}`;
  const types = await crsync(['-d', db, 'sql', typeSql, '--json']);
  return { rows: rows.stdout, types: types.stdout };
}

describe('import and export through the CLI, on the world-countries dataset', () => {
  it('CSV: import --create --pk, export in each format, re-import each into a fresh replica: same rows and types', async () => {
    const csv = tmp.path('countries.csv');
    copyFileSync(join(COUNTRIES, 'countries.csv'), csv);
    const db = await newReplica('a.db');
    const imported = await crsyncJson<ImportJson>(['-d', db, 'import', 'countries', csv, '--create', '--pk', 'cca3']);
    expect(imported.exitCode).toBe(0);
    expect(imported.json).toMatchObject({ table: 'countries', file: csv, format: 'csv', rows: 250, skipped: 0, badLines: [], created: true });
    const original = await dump(db);
    expect(JSON.parse(original.rows)).toHaveLength(250);
    const aruba = JSON.parse(original.rows)[0];
    expect(aruba).toMatchObject({ cca3: 'ABW', flag: '🇦🇼', 'translations.jpn.common': 'アルバ', borders: '' });
    const list = await crsyncJson(['-d', db, 'track', '--list']);
    expect(list.json).toEqual([{ name: 'countries', rows: 250 }]);

    for (const format of ['csv', 'ndjson', 'json']) {
      const out = tmp.path(`export.${format}`);
      const exported = await crsyncJson<Record<string, unknown>>(['-d', db, 'export', 'countries', '-o', out]);
      expect(exported.exitCode).toBe(0);
      expect(exported.json).toMatchObject({ table: 'countries', file: out, format, rows: 250 });
      // Also to stdout, where the data is the whole output.
      const stdout = await crsync(['-d', db, 'export', 'countries', '--format', format]);
      expect(stdout.exitCode).toBe(0);
      expect(stdout.stdout).toBe(readFileSync(out, 'utf8'));

      const fresh = await newReplica(`b-${format}.db`);
      const again = await crsyncJson<ImportJson>(['-d', fresh, 'import', 'countries', out, '--create', '--pk', 'cca3']);
      expect(again.json).toMatchObject({ rows: 250, format });
      const copy = await dump(fresh);
      expect(copy.rows).toBe(original.rows);
      expect(copy.types).toBe(original.types);
    }
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('JSON array: nested values become JSON text, booleans 1/0, numbers keep INTEGER or REAL; round trips', async () => {
    const json = tmp.path('countries.json');
    copyFileSync(join(COUNTRIES, 'countries.json'), json);
    const db = await newReplica('a.db');
    const imported = await crsyncJson<ImportJson>(['-d', db, 'import', 'countries', json, '--create', '--pk', 'cca3']);
    expect(imported.json).toMatchObject({ format: 'json', rows: 250, created: true });
    const source = JSON.parse(readFileSync(json, 'utf8')) as { cca3: string; area: number; independent: boolean | null; latlng: number[] }[];
    const byKey = new Map(source.map((c) => [c.cca3, c]));
    const rows = (
      await crsyncJson<{ cca3: string; area: number; independent: number | null; latlng: string; ta: string; ti: string }[]>([
        '-d', db, 'sql', 'SELECT cca3, area, typeof(area) AS ta, independent, typeof(independent) AS ti, latlng FROM countries',
      ])
    ).json;
    for (const r of rows) {
      const c = byKey.get(r.cca3)!;
      expect(r.area).toBe(c.area);
      expect(JSON.parse(r.latlng)).toEqual(c.latlng);
      expect(r.independent).toBe(c.independent === null ? null : c.independent ? 1 : 0);
    }
    // The file spells some areas with a fraction (REAL) and most without (INTEGER): both kinds are there.
    expect(new Set(rows.map((r) => r.ta))).toEqual(new Set(['integer', 'real']));
    const original = await dump(db);

    for (const format of ['ndjson', 'csv']) {
      const out = tmp.path(`export.${format}`);
      expect((await crsync(['-d', db, 'export', 'countries', '-o', out])).exitCode).toBe(0);
      const fresh = await newReplica(`b-${format}.db`);
      expect((await crsync(['-d', fresh, 'import', 'countries', out, '--create', '--pk', 'cca3'])).exitCode).toBe(0);
      const copy = await dump(fresh);
      expect(copy.rows).toBe(original.rows);
      expect(copy.types).toBe(original.types);
    }
  });

  it('reads stdin with --format and prints a human summary on stderr', async () => {
    const db = await newReplica('a.db');
    const r = await crsync(['-d', db, 'import', 'people', '-', '--format', 'ndjson', '--create'], {
      input: '{"name":"Ada","born":1815}\n{"name":"Grace","born":1906}\n',
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Imported 2 rows into people \(created, replicated\) from stdin in [\d.]+ m?s \([\d,.]+ rows\/s\)\n$/);
    const rows = (await crsyncJson<{ id: string; name: string; born: number }[]>(['-d', db, 'sql', 'SELECT * FROM people ORDER BY born'])).json;
    expect(rows.map((p) => p.name)).toEqual(['Ada', 'Grace']);
    expect(rows[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    const noFormat = await crsyncJson<ErrorJson>(['-d', db, 'import', 'people', '-'], { input: '' });
    expect(noFormat.exitCode).toBe(2);
    expect(noFormat.json.error.code).toBe('unknown_format');
  });

  it('a missing file and a malformed line: exit 1, a JSON error naming them, and nothing imported', async () => {
    const db = await newReplica('a.db');
    const missing = await crsyncJson<ErrorJson>(['-d', db, 'import', 'countries', tmp.path('nope.csv'), '--create']);
    expect(missing.exitCode).toBe(1);
    expect(missing.json.error).toMatchObject({ code: 'file_not_found', message: expect.stringContaining('nope.csv') });

    const lines = readFileSync(join(COUNTRIES, 'countries.csv'), 'utf8').split('\n');
    lines.splice(200, 0, '"broken","row"');
    const bad = tmp.path('bad.csv');
    writeFileSync(bad, lines.join('\n'));
    const failed = await crsyncJson<ErrorJson>(['-d', db, 'import', 'countries', bad, '--create', '--pk', 'cca3']);
    expect(failed.exitCode).toBe(1);
    expect(failed.json.error.code).toBe('bad_input');
    expect(failed.json.error.message).toMatch(/^line 201 of .*bad\.csv: expected \d+ fields, found 2$/);
    const tables = await crsyncJson(['-d', db, 'sql', "SELECT name FROM sqlite_master WHERE name LIKE 'countries%'"]);
    expect(tables.json).toEqual([]);

    const human = await crsync(['-d', db, 'import', 'countries', bad, '--create', '--pk', 'cca3']);
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toMatch(/^error: line 201 of .*\nhint: nothing was imported/);

    const skipped = await crsyncJson<ImportJson>(['-d', db, 'import', 'countries', bad, '--create', '--pk', 'cca3', '--skip-bad']);
    expect(skipped.exitCode).toBe(0);
    expect(skipped.json).toMatchObject({ rows: 250, skipped: 1, badLines: [201] });
    expect(skipped.stderr).toMatch(/warning: skipped 1 bad line \(201\)/);
  });

  it('export errors: no such table, unknown format, unwritable -o (no file left behind)', async () => {
    const db = await newReplica('a.db');
    const noTable = await crsyncJson<ErrorJson>(['-d', db, 'export', 'nope']);
    expect(noTable.exitCode).toBe(1);
    expect(noTable.json.error.code).toBe('no_such_table');
    const badFormat = await crsyncJson<ErrorJson>(['-d', db, 'export', 'nope', '--format', 'xml']);
    expect(badFormat.exitCode).toBe(2);
    expect(badFormat.json.error.code).toBe('unknown_format');
    await crsync(['-d', db, 'sql', 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL)']);
    const unwritable = await crsyncJson<ErrorJson>(['-d', db, 'export', 't', '-o', tmp.path('no/such/dir/t.csv')]);
    expect(unwritable.exitCode).toBe(1);
    expect(unwritable.json.error.code).toBe('cannot_write');
  });
});
