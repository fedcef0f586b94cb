import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, crsync, crsyncJson } from '../helpers.js';
import { makeReplica, ok, run, sandbox, sql, SYNC_ENV } from './sync-helpers.js';
import { twoReplicas } from './conflicts-setup.js';

const box = sandbox('crsync-remote-');

describe('remotes as git users expect', () => {
  it('crsync remote lists names, -v adds URLs and token variables; set-url; a URL is not a remote name', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    await ok(['-d', a, 'remote', 'add', 'origin', 'http://127.0.0.1:9/shop']);
    await ok(['-d', a, 'remote', 'add', 'backup', box.path('b.db'), '--token-env', 'BACKUP_TOKEN']);
    const names = await run(['-d', a, 'remote']);
    expect(names.exitCode).toBe(0);
    expect(names.stdout).toBe('backup\norigin\n');
    const verbose = await run(['-d', a, 'remote', '-v']);
    expect(verbose.stdout).toMatch(/^origin\s+http:\/\/127\.0\.0\.1:9\/shop\s+\(token in \$CRSYNC_TOKEN\)$/m);
    expect(verbose.stdout).toMatch(/BACKUP_TOKEN/);
    await ok(['-d', a, 'remote', 'set-url', 'origin', 'http://127.0.0.1:10/shop']);
    expect((await crsyncJson<{ url: string }[]>(['-d', a, 'remote'])).json.find((r) => r.url.includes(':10/'))).toBeDefined();
    const missing = await run(['-d', a, 'remote', 'set-url', 'nosuch', 'http://x/y']);
    expect(missing.exitCode).toBe(1);
    const url = await run(['-d', a, 'pull', 'http://127.0.0.1:10/shop']);
    expect(url.exitCode).toBe(1);
    expect(url.stderr).toContain('is a URL or path, not a remote name');
    expect(url.stderr).toContain('crsync remote add');
  });

  it('clone ./a.db in its own folder makes a-clone.db, not the source', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, "insert into t (id, name) values (1, 'x')");
    const r = await crsync(['clone', './a.db'], { cwd: box.dir, env: SYNC_ENV });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`into ${box.path('a-clone.db')}`);
  });

  it('remote datasets lists what the token may use; no token says which variable to set', async () => {
    const tokens = box.path('tokens.txt');
    writeFileSync(tokens, 'rw-all read-write\nro-shop read shop\n');
    const hub = await box.hub('hub', ['--tokens', tokens]);
    const a = box.path('a.db');
    await makeReplica(a);
    for (const name of ['shop', 'other']) {
      await ok(['-d', a, 'remote', 'add', name, `${hub.url}/${name}`]);
      await ok(['-d', a, 'push', name, '--create'], { CRSYNC_TOKEN: 'rw-all' });
    }
    const all = await crsyncJson<{ datasets: { name: string }[] }>(['remote', 'datasets', hub.url], { env: { CRSYNC_TOKEN: 'rw-all' } });
    expect(all.json.datasets.map((d) => d.name)).toEqual(['other', 'shop']);
    const some = await crsyncJson<{ datasets: { name: string }[] }>(['remote', 'datasets', hub.url, '--token-env', 'T'], { env: { T: 'ro-shop' } });
    expect(some.json.datasets.map((d) => d.name)).toEqual(['shop']);
    const none = await crsyncJson<{ error: { code: string; hint: string } }>(['remote', 'datasets', hub.url]);
    expect(none.exitCode).toBe(4);
    expect(none.json.error.hint).toBe("set CRSYNC_TOKEN (or the remote's --token-env)");
    const pull = await crsyncJson<{ error: { hint: string } }>(['-d', a, 'pull', 'shop'], { env: SYNC_ENV });
    expect(pull.json.error.hint).toBe("set CRSYNC_TOKEN (or the remote's --token-env)");
  });
});

describe('status points at what is out of sync', () => {
  it('nothing to push or pull but an open conflict: resolve, not sync', async () => {
    const hub = await box.hub();
    const { a, b } = await twoReplicas(box.path, { url: hub.url, dir: box.path('hub') }, 'shop');
    await ok(['-d', a, 'sql', "UPDATE items SET name = 'from a' WHERE id = 1"]);
    await ok(['-d', b, 'sql', "UPDATE items SET name = 'from b' WHERE id = 1"]);
    for (const db of [a, b, a, b]) await ok(['-d', db, 'sync']);
    const conflicted = [a, b];
    const texts = await Promise.all(conflicted.map((db) => run(['-d', db, 'status'])));
    const withConflict = texts.find((t) => /1 open/.test(t.stdout));
    expect(withConflict, texts.map((t) => t.stdout).join('\n---\n')).toBeDefined();
    expect(withConflict!.stdout).toMatch(/not in sync \(crsync conflicts, then crsync resolve\)/);
    expect(withConflict!.stdout).not.toMatch(/crsync sync/);
  });

  it('--offline never claims "in sync"; a clone cut short is unfinished', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    const off = await run(['-d', a, 'status', '--offline']);
    expect(off.stdout).toMatch(/in sync/);
    await ok(['-d', a, 'remote', 'add', 'origin', 'http://127.0.0.1:9/shop']);
    const offline = await run(['-d', a, 'status', '--offline']);
    expect(offline.stdout).toMatch(/nothing to push; unpulled not checked \(--offline\)/);
    // A clone that stopped before its end (here: the hub was down) is shown as such.
    const hub = await box.hub();
    await ok(['-d', a, 'remote', 'set-url', 'origin', `${hub.url}/shop`]);
    await sql(a, "insert into t (id, name) values (1, 'x')");
    await ok(['-d', a, 'push', '--create']);
    const c = box.path('c.db');
    await ok(['clone', `${hub.url}/shop`, c]);
    // The mark a clone keeps until its last page (as a clone killed midway leaves it).
    const db = new Database(c);
    db.prepare("INSERT INTO crsync_meta (key, value) VALUES ('clone_pending', ?)").run(`${hub.url}/shop`);
    db.close();
    const cut = await crsyncJson<{ inSync: boolean; cloneUnfinished: string }>(['-d', c, 'status', '--offline', '--exit-code']);
    expect(cut.exitCode).toBe(6);
    expect(cut.json).toMatchObject({ inSync: false, cloneUnfinished: `${hub.url}/shop` });
    expect((await run(['-d', c, 'status', '--offline'])).stdout).toMatch(/the clone of .* stopped before its end \(crsync pull finishes it\)/);
  });
});

describe('the hub log', () => {
  it('one line per request on stderr, as text or JSON; --quiet none; says what it waits for on SIGTERM', async () => {
    const start = async (extra: string[]) => {
      const proc = execa('node', [CLI, 'serve', '--dir', box.path('hub'), '--port', '0', ...extra], { env: { NO_COLOR: '1' }, reject: false, buffer: { stdout: false, stderr: true } });
      const url = await new Promise<string>((res) => createInterface({ input: proc.stdout! }).once('line', (l) => res(l.trim())));
      return { proc, url };
    };
    const a = box.path('a.db');
    await makeReplica(a);
    const json = await start(['--log-format', 'json']);
    await ok(['-d', a, 'remote', 'add', 'origin', `${json.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    json.proc.kill('SIGTERM');
    const jr = await json.proc;
    expect(jr.exitCode).toBe(0);
    const lines = String(jr.stderr).split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const entries = lines.map((l) => JSON.parse(l) as { method: string; dataset: string; status: number; ms: number; at: string });
    expect(entries.some((e) => e.method === 'POST' && e.dataset === 'shop' && e.status === 200)).toBe(true);
    expect(entries.every((e) => /Z$/.test(e.at) && typeof e.ms === 'number')).toBe(true);
    expect(String(jr.stderr)).toMatch(/stopping: no requests in flight/);

    const quiet = await start(['-q']);
    await ok(['-d', a, 'remote', 'set-url', 'origin', `${quiet.url}/shop`]);
    await ok(['-d', a, 'pull']);
    quiet.proc.kill('SIGTERM');
    expect(String((await quiet.proc).stderr)).toBe('');
  });
});
