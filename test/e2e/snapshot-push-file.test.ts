import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHANGES, makeReplica, ok, peek, rows, sandbox, sql } from './sync-helpers.js';
import { replicaWithHistory, type PushJson } from './snapshot-push-helpers.js';

const box = sandbox('crsync-snapshot-push-file-');

const localSite = (db: string): string => peek(db, 'select hex(site_id) from crsql_site_id where ordinal = 0') as string;

describe('a first push by snapshot into a peer file', () => {
  it('copies the replica with a new identity: the change-stream push\'s state, and sync both ways after', async () => {
    const a = await replicaWithHistory(box);
    const snap = box.path('snap.db');
    const stream = box.path('stream.db');
    await ok(['-d', a, 'remote', 'add', 'snap', snap]);
    await ok(['-d', a, 'remote', 'add', 'stream', stream]);
    expect(await ok<PushJson>(['-d', a, 'push', 'snap', '--create'])).toMatchObject({ via: 'snapshot', created: true });
    expect(await ok<PushJson>(['-d', a, 'push', 'stream', '--create', '--no-snapshot'])).toMatchObject({ via: 'changes', created: true });

    // What the copy holds is what the change stream made; the writers are the same sites.
    const expected = await rows(stream, CHANGES);
    expect(expected.length).toBeGreaterThan(10);
    expect(await rows(snap, CHANGES)).toEqual(expected);
    expect(await rows(snap, 'select * from t order by id')).toEqual(await rows(a, 'select * from t order by id'));
    expect(localSite(snap)).not.toBe(localSite(a));
    expect(localSite(snap)).not.toBe(localSite(box.path('p.db')));
    expect(peek(snap, "select count(*) from sqlite_master where name in ('scratch', 't_name')")).toBe(0);
    expect(peek(snap, 'select count(*) from crsync_remotes')).toBe(0);
    expect(readdirSync(box.dir).filter((f) => f.includes('.upload'))).toEqual([]);

    // Cursors on both sides stand at the copy: nothing to send, nothing to bring back.
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 0 });
    await sql(a, `update t set qty = 100 where id = 1`);
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 1, received: 0, via: 'changes' });
    await sql(snap, `update t set name = 'from snap' where id = 4`);
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 1 });
    expect(await rows(a, 'select id, name, qty from t order by id')).toEqual(await rows(snap, 'select id, name, qty from t order by id'));
    // A replica cloned from the copy sees everything, and its writes reach the pusher through it.
    const c = box.path('c.db');
    await ok(['clone', snap, c]);
    await sql(c, `insert into t (id, name) values (9, 'nine')`);
    // One row: a cell per column (name, qty, price, data, note).
    expect(await ok<PushJson>(['-d', c, 'sync'])).toMatchObject({ sent: 5, received: 0 });
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 5 });
    expect(await rows(a, CHANGES)).toEqual(await rows(c, CHANGES));
  }, 180_000);

  it('replaces an empty peer file; a file with changes, or one open elsewhere, takes the change stream', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `insert into t (id, name) values (1, 'one'), (2, 'two')`);
    const empty = box.path('empty.db');
    await makeReplica(empty);
    await ok(['-d', a, 'remote', 'add', 'empty', empty]);
    expect(await ok<PushJson>(['-d', a, 'push', 'empty'])).toMatchObject({ via: 'snapshot', created: false, sent: 8 });
    expect(await rows(empty)).toEqual(await rows(a));
    expect(await ok<PushJson>(['-d', a, 'sync', 'empty'])).toMatchObject({ sent: 0, received: 0 });

    const held = box.path('held.db');
    await makeReplica(held);
    await ok(['-d', a, 'remote', 'add', 'held', held]);
    const conn = new Database(held, { readonly: true });
    try {
      conn.prepare('select count(*) from t').get();
      expect(existsSync(`${held}-wal`)).toBe(true);
      expect(await ok<PushJson>(['-d', a, 'push', 'held'])).toMatchObject({ via: 'changes', sent: 8 });
    } finally {
      conn.close();
    }
    expect(await rows(held)).toEqual(await rows(a));

    const full = box.path('full.db');
    await makeReplica(full);
    await sql(full, `insert into t (id, name) values (3, 'three')`);
    await ok(['-d', a, 'remote', 'add', 'full', full]);
    expect(await ok<PushJson>(['-d', a, 'sync', 'full'])).toMatchObject({ via: 'changes', sent: 8, received: 4 });
    expect(await rows(full)).toEqual(await rows(a));
    expect(readdirSync(box.dir).filter((f) => f.includes('.upload'))).toEqual([]);
  }, 120_000);

  it.skipIf(!existsSync('/dev/shm'))('copies into a peer file on another file system', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `insert into t (id, name) values (1, 'one'), (2, 'two')`);
    const other = mkdtempSync('/dev/shm/crsync-peer-');
    try {
      const peer = join(other, 'peer.db');
      await ok(['-d', a, 'remote', 'add', 'peer', peer]);
      expect(await ok<PushJson>(['-d', a, 'push', 'peer', '--create'])).toMatchObject({ via: 'snapshot', created: true, sent: 8 });
      expect(await rows(peer)).toEqual(await rows(a));
      expect(localSite(peer)).not.toBe(localSite(a));
      expect(readdirSync(other).filter((f) => f.includes('.upload'))).toEqual([]);
      expect(readdirSync(box.dir).filter((f) => f.includes('.upload'))).toEqual([]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }, 60_000);
});
