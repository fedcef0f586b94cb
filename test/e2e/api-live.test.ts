import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplica, type LiveStatus, type Replica } from '../../src/api/index.js';
import { execa } from 'execa';
import { CLI, startHub } from '../helpers.js';
import { makeReplica, ok, sandbox, sql } from './sync-helpers.js';
import { names, startWatcher, within } from './live-helpers.js';

const box = sandbox('crsync-apilive-');
const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});


/** An app's replica b of dataset shop (made by the CLI replica a). */
async function appAndCli(hubUrl: string): Promise<{ a: string; app: Replica }> {
  const a = box.path('a.db');
  await makeReplica(a, 'create table t (id integer primary key not null, name text)');
  await ok(['-d', a, 'remote', 'add', 'origin', `${hubUrl}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  const app = openReplica(box.path('b.db'));
  opened.push(app);
  app.addRemote('origin', `${hubUrl}/shop`);
  await app.pull();
  return { a, app };
}

describe('replica.startSync', () => {
  it('an API app and a CLI watcher sync both ways; change events re-run watched queries', async () => {
    const hub = await box.hub();
    const { a, app } = await appAndCli(hub.url);
    const cli = startWatcher(a);
    const live = app.startSync('origin');
    const states: LiveStatus[] = [];
    live.on('status', (s: LiveStatus) => states.push(s));
    const changes: unknown[] = [];
    live.on('change', (e) => changes.push(e));
    let seen: unknown[] = [];
    app.watch('select name from t order by id', [], (rows) => (seen = rows));
    await within(10_000, () => states.some((s) => s.state === 'live'));
    await cli.next((e) => e.state === 'live');

    app.db.prepare('insert into t values (?, ?)').run(1, 'from the app');
    await within(5000, () => names(a).includes('from the app'));
    await sql(a, "insert into t values (2, 'from the cli')");
    await within(5000, () => seen.length === 2);
    expect(seen).toEqual([{ name: 'from the app' }, { name: 'from the cli' }]);
    expect(changes).toContainEqual({ tables: ['t'], changes: 1 });
    expect(live.status).toMatchObject({ state: 'live', pending: 0 });
    expect(live.status.lastSyncedAt).not.toBeNull();

    await live.stop();
    expect(states.at(-1)).toMatchObject({ state: 'stopped' });
    expect(existsSync(`${app.path}.crsync-watch`)).toBe(false);
    expect((await cli.stop()).exitCode).toBe(0);
  });

  it('one live sync per file; close() stops it and frees the file', async () => {
    const hub = await box.hub();
    const { app } = await appAndCli(hub.url);
    const live = app.startSync();
    expect(() => app.startSync()).toThrow(expect.objectContaining({ code: 'watch_running' }));
    const other = await execa('node', [CLI, '-d', app.path, 'sync', '--watch', '--json'], { reject: false });
    expect(other.exitCode).toBe(1);
    expect(other.stdout).toContain(`process ${process.pid}`);
    const stopped = new Promise((r) => live.on('status', (s: LiveStatus) => s.state === 'stopped' && r(s)));
    app.close();
    await stopped;
    expect(existsSync(`${app.path}.crsync-watch`)).toBe(false);
  });

  it('a hub that is down: connecting with backoff, then offline (breaker open), live again once it is back', async () => {
    const hubDir = box.path('hub');
    const first = await startHub(hubDir);
    const port = new URL(first.url).port;
    const { app } = await appAndCli(first.url);
    await first.stop();
    const states: string[] = [];
    const live = app.startSync('origin', { backoff: { baseMs: 20, capMs: 80, failures: 4, probeMs: 600 } });
    live.on('status', (s: LiveStatus) => states.push(s.state));
    await within(5000, () => states.includes('offline'));
    expect(states.slice(0, 2)).toEqual(['connecting', 'offline']);
    const hub = await startHub(hubDir, ['--port', port]);
    try {
      await within(5000, () => states.at(-1) === 'live');
      await live.stop();
      expect(states).toEqual(['connecting', 'offline', 'live', 'stopped']);
    } finally {
      await hub.stop();
    }
  });

  it('a refused token: needs_auth, and no more tries', async () => {
    const tokens = box.path('tokens');
    writeFileSync(tokens, 'good read-write *\n');
    const hub = await box.hub('hub', ['--tokens', tokens]);
    const a = box.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text)');
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create'], { CRSYNC_TOKEN: 'good' });
    const app = openReplica(box.path('b.db'), { env: { CRSYNC_TOKEN: 'wrong' } });
    opened.push(app);
    app.addRemote('origin', `${hub.url}/shop`);
    const states: LiveStatus[] = [];
    const live = app.startSync('origin', { backoff: { baseMs: 10, capMs: 20 } });
    live.on('status', (s: LiveStatus) => states.push(s));
    await within(5000, () => states.some((s) => s.state === 'needs_auth'));
    await new Promise((r) => setTimeout(r, 500));
    expect(states.map((s) => s.state)).toEqual(['connecting', 'needs_auth']);
    expect(states[1]!.error).toMatchObject({ code: 'auth_failed' });
    await live.stop();
  });
});
