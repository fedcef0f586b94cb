import { existsSync, readFileSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { beforeEach, describe, expect, it } from 'vitest';
import { CLI, crsyncJson } from '../helpers.js';
import { twoReplicas } from './conflicts-setup.js';
import { ok, run, sandbox, SYNC_ENV } from './sync-helpers.js';
import { crsyncPty, plain } from './terminal-helpers.js';

const box = sandbox('crsync-terminal-');
const ESC = '\x1b[';

/** A replica with `rows` rows in a replicated table. */
async function bigReplica(db: string, rows: number): Promise<void> {
  expect((await run(['init', '-d', db])).exitCode).toBe(0);
  const sql = `CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows}) INSERT INTO t SELECT i, 'value ' || i FROM n;`;
  expect((await run(['sql', '-d', db, sql])).exitCode).toBe(0);
  expect((await run(['track', 't', '-d', db])).exitCode).toBe(0);
}

describe('colour is decided per stream', () => {
  beforeEach(async () => {
    await bigReplica(box.path('a.db'), 3);
  });

  it('a terminal stdout is coloured; the same command redirected to a file is not (stderr still a terminal)', async () => {
    const tty = await crsyncPty(['sql', '-d', 'a.db', 'SELECT id, v FROM t'], { cwd: box.dir });
    expect(tty.exitCode).toBe(0);
    expect(tty.text).toContain(ESC);
    const file = box.path('out.txt');
    const redirected = await crsyncPty(['sql', '-d', 'a.db', 'SELECT id, v FROM t'], { cwd: box.dir, stdoutFile: file });
    expect(redirected.exitCode).toBe(0);
    const out = readFileSync(file, 'utf8');
    expect(out).toContain('value 1');
    expect(out).not.toContain('\x1b');
    for (const cmd of [['log'], ['conflicts', '--all'], ['status', '--offline']]) {
      const r = await crsyncPty([...cmd, '-d', 'a.db'], { cwd: box.dir, stdoutFile: file });
      expect(r.exitCode, cmd.join(' ')).toBe(0);
      expect(readFileSync(file, 'utf8'), cmd.join(' ')).not.toContain('\x1b');
    }
  });

  it('NO_COLOR, --no-color and CI turn colour off on a terminal; FORCE_COLOR turns it on in a pipe', async () => {
    const args = ['sql', '-d', 'a.db', 'SELECT id FROM t'];
    expect((await crsyncPty(args, { cwd: box.dir, env: { NO_COLOR: '1' } })).text).not.toContain(ESC);
    expect((await crsyncPty([...args, '--no-color'], { cwd: box.dir })).text).not.toContain(ESC);
    expect((await crsyncPty(args, { cwd: box.dir, env: { CI: 'true' } })).text).not.toContain(ESC);
    const piped = await execa('node', [CLI, ...args], { cwd: box.dir, env: { FORCE_COLOR: '1', NO_COLOR: undefined }, reject: false });
    expect(piped.stdout).toContain(ESC);
    const json = await execa('node', [CLI, ...args, '--json'], { cwd: box.dir, env: { FORCE_COLOR: '1' }, reject: false });
    expect(json.stdout).not.toContain('\x1b');
  });
});

describe('Ctrl-C and SIGTERM', () => {
  let url: string;
  beforeEach(async () => {
    await bigReplica(box.path('src.db'), 150_000);
    const hub = await box.hub();
    url = `${hub.url}/big`;
    expect((await run(['remote', 'add', 'origin', url, '-d', box.path('src.db')])).exitCode).toBe(0);
    const pushed = await run(['push', '--create', '-d', box.path('src.db')]);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
  }, 120_000);

  it('Ctrl-C on a terminal stops a clone at a committed page: interrupted, a resume hint, exit 130, terminal sane', async () => {
    const r = await crsyncPty(['clone', '--no-snapshot', url, 'c.db'], { cwd: box.dir, send: [{ after: 'changes', data: '\x03' }] });
    const text = plain(r.text);
    expect(r.exitCode, text.slice(-500)).toBe(130);
    expect(r.rawWhileRunning).toBe(false);
    expect(text).toContain('error: interrupted');
    expect(text).toContain('crsync pull -d');
    expect(r.isig && r.icanon && r.echo).toBe(true);
    // The partial clone resumes with pull and ends complete.
    const resumed = await run(['pull', '-d', box.path('c.db')]);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const count = await run(['sql', '-d', box.path('c.db'), 'SELECT count(*) AS n FROM t', '--json']);
    expect(JSON.parse(count.stdout)).toEqual([{ n: 150000 }]);
  });

  it('Ctrl-C twice exits at once', async () => {
    const r = await crsyncPty(['clone', '--no-snapshot', url, 'c.db'], { cwd: box.dir, send: [{ after: 'changes', data: '\x03\x03' }] });
    expect(r.exitCode).toBe(130);
  });

  it('SIGTERM in a pipe stops a pull with exit 143 and the resume hint', async () => {
    await run(['init', '-d', box.path('p.db')]);
    await run(['remote', 'add', 'origin', url, '-d', box.path('p.db')]);
    const proc = execa('node', [CLI, 'pull', '-d', box.path('p.db')], { env: { NO_COLOR: '1', ...SYNC_ENV }, reject: false, all: false });
    // Wait until the first pages are committed, then terminate.
    const wal = box.path('p.db-wal');
    for (let i = 0; i < 600 && !(existsSync(wal) && statSync(wal).size > 200_000); i++) await new Promise((r) => setTimeout(r, 20));
    proc.kill('SIGTERM');
    const r = await proc;
    expect(r.exitCode, String(r.stderr)).toBe(143);
    expect(String(r.stderr)).toContain('error: terminated');
    expect(String(r.stderr)).toContain('crsync pull origin');
  });
});

describe('interactive resolve', () => {
  it('shows whole values, confirms each answer, and keeps the answers given when Ctrl-C stops it', async () => {
    const hub = await box.hub();
    const { a, b } = await twoReplicas(box.path, { url: hub.url, dir: box.path('hub') }, 'shop');
    const long = 'a long value '.repeat(12).trim();
    await ok(['-d', a, 'sql', `UPDATE items SET name = '${long}' WHERE id = 1; UPDATE items SET name = 'a2' WHERE id = 2`]);
    await ok(['-d', b, 'sql', "UPDATE items SET name = 'b1' WHERE id = 1; UPDATE items SET name = 'b2' WHERE id = 2"]);
    for (const db of [a, b, a, b]) await ok(['-d', db, 'sync']);
    const open = async (db: string) => (await crsyncJson<{ id: number }[]>(['-d', db, 'conflicts'])).json;
    const db = (await open(a)).length === 2 ? a : b;
    expect(await open(db)).toHaveLength(2);
    const r = await crsyncPty(['-d', db, 'resolve', '--all'], {
      cwd: box.dir,
      send: [
        { after: 'keep [o]urs', data: 'o\r' },
        { after: 'keep ours', delay: 0.3, data: '\x03' },
      ],
    });
    const text = plain(r.text).replace(/\n\s+/g, ' ');
    expect(r.exitCode, text).toBe(130);
    // Whole, wrapped at the terminal's width (the wrap may fall inside a word).
    expect(text.replace(/\s/g, '')).toContain(long.replace(/\s/g, ''));
    expect(text).toMatch(/#\d+: keep ours/);
    expect(text).toContain('stopped: keeping the 1 answer given');
    expect(await open(db)).toHaveLength(1);
    expect(r.isig && r.icanon && r.echo).toBe(true);
  });
});
