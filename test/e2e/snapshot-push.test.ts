import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crsyncJson } from '../helpers.js';
import { CHANGES, makeReplica, ok, peek, rows, runJson, sandbox, sql, SYNC_ENV } from './sync-helpers.js';
import { expectSameClones, replicaWithHistory, type PushJson } from './snapshot-push-helpers.js';

const box = sandbox('crsync-snapshot-push-');

describe('a first push by snapshot', () => {
  it('makes the dataset a change-stream push makes, with a hub site id of its own, and syncs on both ways', async () => {
    const a = await replicaWithHistory(box);
    const hub = await box.hub();
    await ok(['-d', a, 'remote', 'add', 'snap', `${hub.url}/snap`]);
    await ok(['-d', a, 'remote', 'add', 'stream', `${hub.url}/stream`]);
    const bySnapshot = await ok<PushJson>(['-d', a, 'push', 'snap', '--create']);
    const byStream = await ok<PushJson>(['-d', a, 'push', 'stream', '--create', '--no-snapshot']);
    expect(bySnapshot).toMatchObject({ via: 'snapshot', created: true });
    expect(byStream).toMatchObject({ via: 'changes', created: true });
    expect(bySnapshot.sent).toBeGreaterThan(10);

    const { s, c } = await expectSameClones(box, hub.url, 10);
    expect(await rows(s, 'select * from t order by id')).toEqual(await rows(a, 'select * from t order by id'));

    // The hub has a site id of its own; the pusher's writes keep the pusher's id; nothing local-only went.
    const hubFile = join(box.path('hub'), 'snap.db');
    const site = (peek(a, 'select hex(site_id) from crsql_site_id where ordinal = 0') as string);
    expect(peek(hubFile, 'select hex(site_id) from crsql_site_id where ordinal = 0')).not.toBe(site);
    expect(peek(hubFile, "select count(*) from sqlite_master where name in ('scratch', 't_name')")).toBe(0);
    expect(await rows(s, `select count(*) as n from crsql_changes where hex(site_id) = '${site}'`)).toEqual(await rows(c, `select count(*) as n from crsql_changes where hex(site_id) = '${site}'`));
    expect(readdirSync(box.dir).filter((f) => f.includes('.upload'))).toEqual([]);

    // The pusher's cursors stand at the snapshot: nothing to send, nothing to receive.
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 0 });
    await sql(a, `update t set qty = 100 where id = 1`);
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 1, received: 0, via: 'changes' });
    expect(await ok<PushJson>(['-d', s, 'pull'])).toMatchObject({ received: 1 });
    await sql(s, `update t set name = 'from s' where id = 4`);
    expect(await ok<PushJson>(['-d', s, 'sync'])).toMatchObject({ sent: 1, received: 0 });
    expect(await ok<PushJson>(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 1 });
    expect(await rows(a, 'select id, name, qty from t order by id')).toEqual(await rows(s, 'select id, name, qty from t order by id'));
    expect(await ok<PushJson>(['-d', s, 'sync'])).toMatchObject({ sent: 0, received: 0 });
  }, 180_000);

  it('into an empty dataset by sync; a dataset with changes takes the change stream', async () => {
    const hub = await box.hub();
    const e = box.path('e.db');
    const a = box.path('a.db');
    await makeReplica(e);
    await makeReplica(a);
    await sql(a, `insert into t (id, name) values (1, 'one'), (2, 'two')`);
    await ok(['-d', e, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    // An empty replica makes an empty dataset (nothing to send as a snapshot).
    expect(await ok<PushJson>(['-d', e, 'push', '--create'])).toMatchObject({ via: 'changes', created: true, sent: 0 });
    expect(await ok<PushJson>(['-d', a, 'sync'])).toMatchObject({ via: 'snapshot', sent: 8 });
    // e saw the empty dataset: it starts over with the new one and receives everything.
    expect(await ok<PushJson>(['-d', e, 'sync'])).toMatchObject({ received: 8, sent: 0 });
    expect(await rows(e, CHANGES)).toEqual(await rows(a, CHANGES));
    const b = box.path('b.db');
    await makeReplica(b);
    await sql(b, `insert into t (id, name) values (3, 'three')`);
    await ok(['-d', b, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    expect(await ok<PushJson>(['-d', b, 'push', '--create'])).toMatchObject({ via: 'changes', created: false, sent: 4 });
    expect(await ok<PushJson>(['-d', a, 'pull'])).toMatchObject({ received: 4 });
  }, 120_000);

  it('pushes the change stream for a replica the hub could not take as a file', async () => {
    const hub = await box.hub();
    const a = box.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text check (length(name) < 100))');
    await sql(a, `insert into t (id, name) values (1, 'one')`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    expect(await ok<PushJson>(['-d', a, 'push', '--create'])).toMatchObject({ via: 'changes', created: true, sent: 1 });
    expect(readdirSync(box.dir).filter((f) => f.includes('.upload'))).toEqual([]);
  }, 60_000);

  it('takes the create right, like any push --create', async () => {
    const tokens = box.path('tokens');
    writeFileSync(tokens, 'rw-1 read-write\ncr-2 create\n');
    const hub = await box.hub('hub', ['--tokens', tokens]);
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `insert into t (id, name) values (1, 'one')`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    const refused = await crsyncJson<{ error: { code: string } }>(['-d', a, 'push', '--create'], { env: { ...SYNC_ENV, CRSYNC_TOKEN: 'rw-1' } });
    expect(refused.exitCode).toBe(4);
    expect(refused.json.error.code).toBe('forbidden');
    expect(readdirSync(box.path('hub')).filter((f) => !f.startsWith('tokens'))).toEqual([]);
    expect(await ok<PushJson>(['-d', a, 'push', '--create'], { CRSYNC_TOKEN: 'cr-2' })).toMatchObject({ via: 'snapshot', created: true });
    // The pusher's site is bound to the token that sent the snapshot.
    await sql(a, `update t set name = 'again' where id = 1`);
    const other = await runJson<{ error: { code: string } }>(['-d', a, 'push'], { CRSYNC_TOKEN: 'rw-1' });
    expect(other.json.error.code).toBe('site_owned');
  }, 120_000);
});
