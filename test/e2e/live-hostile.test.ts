import { copyFileSync, renameSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openReplica, type LiveStatus, type Replica } from '../../src/api/index.js';
import { makeReplica, ok, run, sandbox, sql } from './sync-helpers.js';
import { names, startWatcher, within } from './live-helpers.js';
import { failingProxy, silentServer, tcpProxy, type FaultServer } from './fault-servers.js';

const box = sandbox('crsync-livehostile-');
const opened: Replica[] = [];
const servers: FaultServer[] = [];
afterEach(async () => {
  for (const r of opened.splice(0)) r.close();
  for (const s of servers.splice(0)) await s.close();
});

const DDL = 'create table t (id integer primary key not null, name text)';
/** Fast enough to watch the breaker in a test: three failures open it, a probe every 400 ms. */
const BACKOFF = { baseMs: 20, capMs: 100, failures: 3, probeMs: 400 };


/** Replica a (the CLI, straight to the hub) made dataset shop; the app's replica b reaches the hub at `url`. */
async function appBehind(hubUrl: string, url: string): Promise<{ a: string; app: Replica }> {
  const a = box.path('a.db');
  await makeReplica(a, DDL);
  await ok(['-d', a, 'remote', 'add', 'origin', `${hubUrl}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  const app = openReplica(box.path('b.db'));
  opened.push(app);
  app.addRemote('origin', url);
  await app.pull();
  return { a, app };
}

function states(live: { on(e: 'status', f: (s: LiveStatus) => void): unknown }): string[] {
  const seen: string[] = [];
  live.on('status', (s) => seen.push(s.state));
  return seen;
}

describe('live sync against a hostile hub', () => {
  it('a hub that accepts the connection and never answers: the watcher gives up on it, reconnects, and still stops at once', async () => {
    const silent = await silentServer();
    servers.push(silent);
    const a = box.path('a.db');
    await makeReplica(a, DDL);
    await ok(['-d', a, 'remote', 'add', 'origin', silent.url]);
    const w = startWatcher(a);
    await w.next((e) => e.state === 'connecting');
    await within(5000, () => silent.connections === 1);
    // The default silence limit is 10 s (docs/protocol.md): a second connection well before the
    // two minutes an ordinary request may wait.
    const ms = await within(20_000, () => silent.connections >= 2);
    expect(ms).toBeGreaterThan(8000);
    expect(w.proc.exitCode).toBeNull();
    expect(w.events.some((e) => e.state === 'live')).toBe(false);
    const t = performance.now();
    const r = await w.stop('SIGTERM');
    expect(performance.now() - t).toBeLessThan(3000);
    expect(r.exitCode).toBe(0);
    expect(w.events.at(-1)).toMatchObject({ event: 'status', state: 'stopped' });
  });

  it('a live hub that goes silent mid-hold: connecting, offline once the breaker opens, live again (with the edits) when it answers', async () => {
    const hub = await box.hub();
    const proxy = await tcpProxy(hub.url);
    servers.push(proxy);
    const { a, app } = await appBehind(hub.url, proxy.url);
    const live = app.startSync('origin', { waitMs: 1000, silenceMs: 500, backoff: BACKOFF });
    const seen = states(live);
    await within(5000, () => seen.at(-1) === 'live');
    proxy.silent = true;
    // A held pull ends after its wait; silence past wait + silenceMs fails it.
    const lost = await within(5000, () => seen.at(-1) !== 'live');
    expect(lost).toBeLessThan(4000);
    await within(5000, () => seen.at(-1) === 'offline');
    await sql(a, "insert into t values (1, 'while silent')");
    await ok(['-d', a, 'push']);
    proxy.silent = false;
    await within(5000, () => seen.at(-1) === 'live');
    await within(5000, () => names(app.path).includes('while silent'));
    expect(seen).toEqual(['connecting', 'live', 'connecting', 'offline', 'live']);
    expect(live.status.error).toBeUndefined();
    await live.stop();
  });

  it('a hub answering 500 forever: the breaker opens, probes at its pace (no storm), and closes when the hub recovers', async () => {
    const hub = await box.hub();
    const proxy = await failingProxy(hub.url);
    servers.push(proxy);
    const { a, app } = await appBehind(hub.url, proxy.url);
    const live = app.startSync('origin', { waitMs: 1000, backoff: BACKOFF });
    const seen = states(live);
    await within(5000, () => seen.at(-1) === 'live');
    proxy.failing = true;
    await within(5000, () => seen.at(-1) === 'offline');
    expect(live.status.error).toMatchObject({ code: 'remote_error' });
    const opened = performance.now();
    const before = proxy.failed.length;
    await new Promise((r) => setTimeout(r, 2000));
    // One probe per ~400 ms while open: about five in two seconds, never a burst.
    const probes = proxy.failed.filter((t) => t >= opened).length;
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(probes).toBeLessThanOrEqual(7);
    expect(proxy.failed.length - before).toBe(probes);
    expect(seen.at(-1)).toBe('offline');
    await sql(a, "insert into t values (1, 'during the outage')");
    await ok(['-d', a, 'push']);
    proxy.failing = false;
    await within(3000, () => seen.at(-1) === 'live');
    await within(5000, () => names(app.path).includes('during the outage'));
    app.db.prepare('insert into t values (?, ?)').run(2, 'after it');
    await within(5000, () => live.status.pending === 0);
    await ok(['-d', a, 'pull']);
    expect(names(a)).toEqual(['during the outage', 'after it']);
    expect(seen).toEqual(['connecting', 'live', 'connecting', 'offline', 'live']);
    await live.stop();
  });

  it('the replica file replaced under a watcher: a clear error naming it, exit 1, and the new file untouched', async () => {
    const hub = await box.hub();
    const a = box.path('a.db');
    await makeReplica(a, DDL);
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    const other = box.path('other.db');
    await makeReplica(other, DDL);
    await sql(other, "insert into t values (7, 'the other file')");
    const w = startWatcher(a);
    await w.next((e) => e.state === 'live');
    // Replaced the way an editor or a restore does: a new file renamed over the old name.
    const incoming = box.path('incoming.db');
    copyFileSync(other, incoming);
    renameSync(incoming, a);
    const r = await w.proc;
    expect(r.exitCode).toBe(1);
    const err = (JSON.parse(w.rest.join('\n')) as { error: { code: string; message: string; hint: string } }).error;
    expect(err.code).toBe('replica_gone');
    expect(err.message).toContain('replaced by another file');
    expect(err.message).toContain(a);
    expect(names(a)).toEqual(['the other file']);
    expect((await run(['-d', a, 'sql', 'pragma integrity_check'])).stdout).toContain('ok');
  });
});
