import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, startHub } from '../helpers.js';
import { makeReplica, ok, run, sandbox, sql } from './sync-helpers.js';
import { names, startWatcher, within } from './live-helpers.js';

const box = sandbox('crsync-livewatch-');

/** Replicas a and b of dataset shop on a hub (a pushed the schema, b cloned it). */
async function pair(hubUrl: string): Promise<{ a: string; b: string }> {
  const a = box.path('a.db');
  const b = box.path('b.db');
  await makeReplica(a, 'create table t (id integer primary key not null, name text)');
  await ok(['-d', a, 'remote', 'add', 'origin', `${hubUrl}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  expect((await run(['clone', `${hubUrl}/shop`, b])).exitCode).toBe(0);
  return { a, b };
}

describe('crsync sync --watch', () => {
  it('two watchers sync both ways as writes happen; SIGTERM exits 0 with a final line and leaves the files intact', async () => {
    const hub = await box.hub();
    const { a, b } = await pair(hub.url);
    const wa = startWatcher(a);
    const wb = startWatcher(b);
    await wa.next((e) => e.state === 'live');
    await wb.next((e) => e.state === 'live');
    // Written by another process (the CLI), noticed by the watcher.
    await sql(a, "insert into t values (1, 'from a')");
    await within(5000, () => names(b).includes('from a'));
    await sql(b, "insert into t values (2, 'from b')");
    await within(5000, () => names(a).includes('from b'));
    expect(await wa.next((e) => e.event === 'pushed')).toMatchObject({ changes: 1 });
    expect(await wa.next((e) => e.event === 'pulled')).toMatchObject({ changes: 1 });
    for (const w of [wa, wb]) {
      const r = await w.stop('SIGTERM');
      expect(r.exitCode).toBe(0);
      expect(w.events.at(-1)).toMatchObject({ event: 'status', state: 'stopped' });
    }
    for (const db of [a, b]) {
      const conn = new Database(db, { readonly: true });
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
      conn.close();
      expect(names(db)).toEqual(['from a', 'from b']);
    }
    // Nothing was left behind: both sides are quiet.
    expect(await ok(['-d', a, 'sync'])).toMatchObject({ sent: 0, received: 0 });
  });

  it('a resolution that keeps the winner (no change to push) is pushed live and closes the other side\'s copy', async () => {
    const hub = await box.hub();
    const { a, b } = await pair(hub.url);
    await sql(a, "insert into t values (1, 'first')");
    await ok(['-d', a, 'sync']);
    await ok(['-d', b, 'sync']);
    await sql(a, "update t set name = 'from-a' where id = 1");
    await sql(b, "update t set name = 'from-b' where id = 1");
    await ok(['-d', a, 'sync']);
    expect((await ok(['-d', b, 'sync'])).conflicts).toBe(1);
    expect((await ok(['-d', a, 'sync'])).conflicts).toBe(1);
    const open = (db: string): number => {
      const conn = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return conn.prepare('select count(*) from crsync_conflicts where resolved_at is null').pluck().get() as number;
      } finally {
        conn.close();
      }
    };
    const wa = startWatcher(a);
    const wb = startWatcher(b);
    await wa.next((e) => e.state === 'live');
    await wb.next((e) => e.state === 'live');
    const [onB] = await ok<{ id: number; winner: string }[]>(['-d', b, 'conflicts']);
    expect(onB).toMatchObject({ winner: 'ours' });
    expect(await ok<{ written: number }>(['-d', b, 'resolve', String(onB!.id), '--ours'])).toMatchObject({ written: 0 });
    await within(5000, () => open(a) === 0);
    expect([open(a), open(b), open(box.path('hub/shop.db'))]).toEqual([0, 0, 0]);
    for (const w of [wa, wb]) expect((await w.stop('SIGTERM')).exitCode).toBe(0);
  });

  it('human output: one line per state on stderr, and a final line on SIGINT (exit 0)', async () => {
    const hub = await box.hub();
    const { a } = await pair(hub.url);
    const proc = execa('node', [CLI, '-d', a, 'sync', '--watch'], { reject: false, env: { NO_COLOR: '1' } });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await within(15_000, () => stderr.includes('origin: live'));
    proc.kill('SIGINT');
    const r = await proc;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(stderr.split('\n')).toEqual(expect.arrayContaining(['origin: connecting', 'origin: live', 'origin: stopped']));
    expect(stderr).toMatch(/origin: stopped after .*: pushed 0, pulled 0 change\(s\)/);
  });

  it('the hub killed and restarted on the same port: the watcher catches up by itself, writes made meanwhile arrive', async () => {
    const hubDir = box.path('hub');
    let hub = await startHub(hubDir);
    const port = new URL(hub.url).port;
    const { a, b } = await pair(hub.url);
    const wa = startWatcher(a);
    const wb = startWatcher(b);
    try {
      await wa.next((e) => e.state === 'live');
      await wb.next((e) => e.state === 'live');
      hub.proc.kill('SIGKILL');
      await hub.proc;
      await sql(a, "insert into t values (1, 'while down')");
      await wa.next((e) => e.state === 'connecting');
      hub = await startHub(hubDir, ['--port', port]);
      expect(hub.url).toContain(`:${port}`);
      await within(20_000, () => names(b).includes('while down'));
      expect(wa.events.filter((e) => e.state === 'live').length).toBeGreaterThanOrEqual(2);
      // No error storm: a handful of state changes, not one per retry.
      expect(wa.events.filter((e) => e.event === 'status').length).toBeLessThan(8);
    } finally {
      expect((await wa.stop()).exitCode).toBe(0);
      expect((await wb.stop()).exitCode).toBe(0);
      await hub.stop();
    }
  });

  it('a second watcher on the same file refuses, naming the first one\'s pid', async () => {
    const hub = await box.hub();
    const { a } = await pair(hub.url);
    const first = startWatcher(a);
    await first.next((e) => e.state === 'live');
    const second = await run(['-d', a, 'sync', '--watch', '--json']);
    expect(second.exitCode).toBe(1);
    const err = (JSON.parse(second.stdout) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe('watch_running');
    expect(err.message).toContain(String(first.proc.pid));
    expect((await first.stop()).exitCode).toBe(0);
    // The lock went with the first watcher: a new one starts.
    const third = startWatcher(a);
    await third.next((e) => e.state === 'live');
    expect((await third.stop()).exitCode).toBe(0);
  });

  it('the replica file deleted under a watcher: a clear error, exit 1', async () => {
    const hub = await box.hub();
    const { a } = await pair(hub.url);
    const w = startWatcher(a, [], {});
    await w.next((e) => e.state === 'live');
    for (const suffix of ['', '-wal', '-shm']) rmSync(a + suffix, { force: true });
    const r = await w.proc;
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(w.rest.join('\n'))).toMatchObject({ error: { code: 'replica_gone' } });
  });

  it('a file remote is refused (live sync needs a hub)', async () => {
    const a = box.path('a.db');
    const p = box.path('peer.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text)');
    await makeReplica(p, 'create table t (id integer primary key not null, name text)');
    await ok(['-d', a, 'remote', 'add', 'origin', p]);
    const r = await run(['-d', a, 'sync', '--watch']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('live sync needs a hub');
  });
});
