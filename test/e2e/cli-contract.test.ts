import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crsync, startHub, tempDir, type Hub } from '../helpers.js';
import { SYNC_ENV } from './sync-helpers.js';

/**
 * The CLI contract, command by command: each case is a success or one class of bad input, with
 * the exit code and (for failures) the error code a script sees. Every case runs twice: with
 * --json, stdout must be exactly one JSON document; without, a redirected stdout carries no
 * escape codes, and the exit code is the same.
 */
interface Case {
  args: (p: Paths) => string[];
  exit: number;
  code?: string;
}

interface Paths {
  a: string;
  plain: string;
  hub: string;
  dead: string;
  dir: string;
  fresh: (name: string) => string;
}

const CASES: Record<string, Case[]> = {
  '(none)': [{ args: () => [], exit: 2, code: 'usage' }, { args: () => ['frobnicate'], exit: 2, code: 'usage' }, { args: () => ['--version'], exit: 0 }],
  init: [{ args: (p) => ['init', '-d', p.fresh('i')], exit: 0 }, { args: (p) => ['init', '-d', p.dir], exit: 1, code: 'not_a_database' }],
  track: [{ args: (p) => ['track', '--list', '-d', p.a], exit: 0 }, { args: (p) => ['track', '-d', p.a], exit: 2, code: 'usage' }],
  sql: [
    { args: (p) => ['sql', 'SELECT id FROM t', '-d', p.a], exit: 0 },
    { args: (p) => ['sql', 'SELEC nonsense', '-d', p.a], exit: 1, code: 'sql_error' },
    { args: (p) => ['sql', 'SELECT 1', '-d', p.plain], exit: 1, code: 'not_a_replica' },
    { args: (p) => ['sql', 'SELECT 1', '-d', p.fresh('missing')], exit: 1, code: 'db_not_found' },
    { args: (p) => ['sql', '-d', p.a], exit: 2, code: 'usage' },
  ],
  import: [
    { args: (p) => ['import', `imported${n++}`, `${p.dir}/rows.csv`, '--create', '--pk', 'id', '-d', p.a], exit: 0 },
    { args: (p) => ['import', 't', `${p.dir}/rows.csv`, '--format', 'xml', '-d', p.a], exit: 2, code: 'unknown_format' },
    { args: (p) => ['import', 't', `${p.dir}/nosuch.csv`, '-d', p.a], exit: 1 },
    { args: (p) => ['import', `imported${n++}`, `${p.dir}/rows.csv`, '--create', '--pk', 'nosuch', '-d', p.a], exit: 1, code: 'no_such_column' },
  ],
  export: [
    { args: (p) => ['export', 't', '-d', p.a], exit: 0 },
    { args: (p) => ['export', 't', '--format', 'xml', '-d', p.a], exit: 2, code: 'unknown_format' },
    { args: (p) => ['export', 'nosuch', '-d', p.a], exit: 1 },
  ],
  doctor: [{ args: (p) => ['doctor', '-d', p.a], exit: 0 }, { args: (p) => ['doctor', '-d', p.plain], exit: 1 }],
  remote: [
    { args: (p) => ['remote', '-d', p.a], exit: 0 },
    { args: (p) => ['remote', 'list', '-d', p.a], exit: 0 },
    { args: (p) => ['remote', 'add', 'bad', 'http://127.0.0.1:1/', '-d', p.a], exit: 2, code: 'usage' },
    { args: (p) => ['remote', 'add', 'origin', `${p.hub}/shop`, '-d', p.a], exit: 1, code: 'remote_exists' },
    { args: (p) => ['remote', 'remove', 'nosuch', '-d', p.a], exit: 1, code: 'no_such_remote' },
    { args: (p) => ['remote', 'set-url', 'nosuch', `${p.hub}/x`, '-d', p.a], exit: 1, code: 'no_such_remote' },
    { args: (p) => ['remote', 'datasets', p.hub], exit: 0 },
    { args: (p) => ['remote', 'datasets', p.dead], exit: 3, code: 'remote_unreachable' },
  ],
  clone: [
    { args: (p) => ['clone', `${p.hub}/shop`, p.fresh('clone')], exit: 0 },
    { args: (p) => ['clone', `${p.hub}/shop`, p.a], exit: 1, code: 'file_exists' },
    { args: (p) => ['clone', `${p.hub}/nosuch`, p.fresh('nosuch')], exit: 1, code: 'dataset_not_found' },
    { args: (p) => ['clone', `${p.dead}/shop`, p.fresh('dead')], exit: 3, code: 'remote_unreachable' },
    { args: () => ['clone'], exit: 2, code: 'usage' },
  ],
  push: [
    { args: (p) => ['push', '-d', p.a], exit: 0 },
    { args: (p) => ['push', 'nosuch', '-d', p.a], exit: 1, code: 'no_such_remote' },
    { args: (p) => ['push', 'missing', '-d', p.a], exit: 1, code: 'dataset_not_found' },
    { args: (p) => ['push', 'dead', '-d', p.a], exit: 3, code: 'remote_unreachable' },
    { args: (p) => ['push', '--page-size', '0', '-d', p.a], exit: 2, code: 'usage' },
    // A remote that is this replica (the file itself, or a copy with its site id) is no usage error.
    { args: (p) => ['push', 'self', '-d', p.a], exit: 1, code: 'same_site' },
    { args: (p) => ['pull', 'copy', '-d', p.a], exit: 1, code: 'same_site' },
  ],
  pull: [
    { args: (p) => ['pull', '-d', p.a], exit: 0 },
    { args: (p) => ['pull', `${p.hub}/shop`, '-d', p.a], exit: 1, code: 'no_such_remote' },
    { args: (p) => ['pull', 'missing', '-d', p.a], exit: 1, code: 'dataset_not_found' },
    { args: (p) => ['pull', '--create', '-d', p.a], exit: 2, code: 'usage' },
  ],
  sync: [{ args: (p) => ['sync', '-d', p.a], exit: 0 }, { args: (p) => ['sync', 'missing', '-d', p.a], exit: 1, code: 'dataset_not_found' }],
  status: [
    { args: (p) => ['status', 'origin', '-d', p.a], exit: 0 },
    { args: (p) => ['status', 'nosuch', '-d', p.a], exit: 1, code: 'no_such_remote' },
    { args: (p) => ['status', '-d', p.plain], exit: 1, code: 'not_a_replica' },
  ],
  conflicts: [{ args: (p) => ['conflicts', '-d', p.a], exit: 0 }, { args: (p) => ['conflicts', '-d', p.plain], exit: 1, code: 'not_a_replica' }],
  resolve: [
    { args: (p) => ['resolve', '--all', '--ours', '-d', p.a], exit: 0 },
    { args: (p) => ['resolve', '99', '--ours', '-d', p.a], exit: 1, code: 'no_such_conflict' },
    { args: (p) => ['resolve', 'x1', '--ours', '-d', p.a], exit: 2, code: 'usage' },
    { args: (p) => ['resolve', '99', '-d', p.a], exit: 2, code: 'usage' },
  ],
  log: [
    { args: (p) => ['log', '-d', p.a], exit: 0 },
    { args: (p) => ['log', '-n', '0', '-d', p.a], exit: 2, code: 'usage' },
    { args: (p) => ['log', '-d', p.plain], exit: 1, code: 'not_a_replica' },
  ],
  stats: [{ args: (p) => ['stats', '-d', p.a], exit: 0 }, { args: (p) => ['stats', '-d', p.plain], exit: 1, code: 'not_a_replica' }],
  diff: [
    { args: (p) => ['diff', '-d', p.a], exit: 0 },
    { args: (p) => ['diff', 'nosuch', '-d', p.a], exit: 1, code: 'no_such_remote' },
    { args: (p) => ['diff', '--since', 'x', '-d', p.a], exit: 2, code: 'usage' },
  ],
  show: [
    { args: (p) => ['show', 't', 'id=1', '-d', p.a], exit: 0 },
    { args: (p) => ['show', 'nosuch', 'id=1', '-d', p.a], exit: 1, code: 'no_such_table' },
    { args: (p) => ['show', 't', '{bad', '-d', p.a], exit: 2, code: 'usage' },
  ],
  'conflicts show': [
    { args: (p) => ['conflicts', 'show', '99', '-d', p.a], exit: 1, code: 'no_such_conflict' },
    { args: (p) => ['conflicts', 'show', 'x', '-d', p.a], exit: 2, code: 'usage' },
  ],
  migrate: [
    { args: (p) => ['migrate', '-d', p.a], exit: 2, code: 'usage' },
    { args: (p) => ['migrate', `${p.dir}/empty.sql`, '-d', p.a], exit: 1, code: 'empty_migration' },
  ],
  serve: [
    { args: (p) => ['serve', '--dir', p.dir, '--port', '99999'], exit: 2, code: 'usage' },
    { args: (p) => ['serve', '--dir', p.dir, '--log-format', 'xml'], exit: 2, code: 'usage' },
    // A tokens file that is missing or does not parse: the file is wrong, not the command line.
    { args: (p) => ['serve', '--dir', p.dir, '--port', '0', '--tokens', `${p.dir}/nosuch.tokens`], exit: 1, code: 'tokens_unreadable' },
    { args: (p) => ['serve', '--dir', p.dir, '--port', '0', '--tokens', `${p.dir}/bad.tokens`], exit: 1, code: 'bad_input' },
  ],
  demo: [{ args: (p) => ['demo', '--dir', p.dir], exit: 1, code: 'dir_not_empty' }],
};

let tmp: ReturnType<typeof tempDir>;
let hub: Hub;
let paths: Paths;
let n = 0;

beforeAll(async () => {
  tmp = tempDir('crsync-contract-');
  hub = await startHub(tmp.path('hub'));
  const a = tmp.path('a.db');
  const plain = tmp.path('plain.db');
  const d = new Database(plain);
  d.exec('CREATE TABLE t (x)');
  d.close();
  writeFileSync(tmp.path('rows.csv'), 'id,v\n100,"x"\n');
  writeFileSync(tmp.path('empty.sql'), '-- nothing here\n');
  writeFileSync(tmp.path('bad.tokens'), 'secret superuser\n');
  const steps = [
    ['init', '-d', a],
    ['sql', '-d', a, 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT); INSERT INTO t VALUES (1, \'a\')'],
    ['track', 't', '-d', a],
    ['remote', 'add', 'origin', `${hub.url}/shop`, '-d', a],
    ['remote', 'add', 'missing', `${hub.url}/missing`, '-d', a],
    ['remote', 'add', 'dead', 'http://127.0.0.1:9/shop', '-d', a],
    ['push', '--create', '-d', a],
    ['remote', 'add', 'self', a, '-d', a],
  ];
  for (const s of steps) expect((await crsync(s, { env: SYNC_ENV })).exitCode, s.join(' ')).toBe(0);
  // A copied file keeps the replica's site id (the wrong way to make a replica).
  copyFileSync(a, tmp.path('copy.db'));
  expect((await crsync(['remote', 'add', 'copy', tmp.path('copy.db'), '-d', a])).exitCode).toBe(0);
  mkdirSync(tmp.path('fresh'));
  paths = { a, plain, hub: hub.url, dead: 'http://127.0.0.1:9', dir: tmp.dir, fresh: (name) => tmp.path(`fresh/${name}-${n++}.db`) };
}, 60_000);

afterAll(async () => {
  await hub.stop();
  tmp.cleanup();
});

const ESC = '\x1b';

describe.each(Object.entries(CASES))('%s', (_name, cases) => {
  it.each(cases.map((c, i) => ({ ...c, i })))('case $i: exit $exit $code', async (c) => {
    const env = { ...SYNC_ENV, CRSYNC_RETRIES: '1', FORCE_COLOR: '' };
    const json = await crsync([...c.args(paths), '--json'], { env });
    expect(json.exitCode, json.stdout + json.stderr).toBe(c.exit);
    let doc: unknown;
    expect(() => (doc = JSON.parse(json.stdout)), `one JSON document:\n${json.stdout}`).not.toThrow();
    if (c.exit !== 0 && c.code !== undefined && (doc as { error?: unknown }).error !== undefined) {
      expect((doc as { error: { code: string } }).error.code).toBe(c.code);
    } else if (c.exit !== 0 && c.code !== undefined) {
      throw new Error(`expected an error document with ${c.code}: ${json.stdout}`);
    }
    const human = await crsync(c.args(paths), { env: { ...env, NO_COLOR: '' } });
    expect(human.exitCode, human.stderr).toBe(c.exit);
    expect(human.stdout.includes(ESC), 'escape codes on a redirected stdout').toBe(false);
  });
});
