import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crsyncJson } from '../helpers.js';
import { bulkInsert, expectQuiet, expectSameRows, makeReplica, ok, peek, rows, run, runJson, spawnCli, sql } from './sync-helpers.js';
import { conflicts } from './conflicts-setup.js';
import { migrated } from './migrate-helpers.js';
import { startWatcher, within } from './live-helpers.js';
import { STORES, getJson, storeSandbox } from './store-helpers.js';

// The core flows of a hub, run against each store: what a user sees must not depend on it.
const box = storeSandbox('crsync-store-');

/** Replicas a and b of dataset `name` (a pushed it, b cloned it). */
async function pair(hubUrl: string, name = 'shop'): Promise<{ a: string; b: string; via: string }> {
  const a = box.path('a.db');
  const b = box.path('b.db');
  await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
  await sql(a, "insert into t values (1, 'one', 1), (2, 'two', 2), (3, 'three', 3)");
  await ok(['-d', a, 'remote', 'add', 'origin', `${hubUrl}/${name}`]);
  expect(await ok(['-d', a, 'push', '--create'])).toMatchObject({ sent: 6 });
  const clone = await ok<{ via: string; received: number }>(['clone', `${hubUrl}/${name}`, b]);
  return { a, b, via: clone.via };
}

describe.each(STORES)('a hub on %s', (store) => {
  it('clone, push, pull and sync both ways; concurrent edits and a delete against an update settle as cr-sqlite says, with the same conflicts', async () => {
    const hub = await box.hub(store);
    const { a, b, via } = await pair(hub.url);
    // Both stores make snapshots: a new replica clones by snapshot.
    expect(via).toBe('snapshot');
    await expectSameRows([a, b]);

    await sql(a, "update t set name = 'from-a' where id = 1");
    await sql(b, "update t set name = 'from-b' where id = 1");
    await sql(a, 'delete from t where id = 2');
    await sql(b, 'update t set qty = 20 where id = 2');
    await sql(b, "insert into t values (4, 'four', 4)");
    expect(await ok(['-d', a, 'push'])).toMatchObject({ sent: 2 });
    const pb = await ok(['-d', b, 'sync']);
    expect(pb).toMatchObject({ received: 2 });
    expect(pb.conflicts).toBe(2);
    // a hears of the one conflict its write lost (the name); its delete won.
    expect(await ok(['-d', a, 'pull'])).toMatchObject({ conflicts: 1 });
    // 'from-b' > 'from-a' breaks the tie; the delete (causal length 2) beats the update.
    expect(await expectSameRows([a, b])).toEqual([
      { id: 1, name: 'from-b', qty: 1 },
      { id: 3, name: 'three', qty: 3 },
      { id: 4, name: 'four', qty: 4 },
    ]);
    const onA = await conflicts(a);
    expect(onA.map((c) => [c.kind, c.winner])).toEqual([['update_update', 'theirs']]);
    expect((await conflicts(b)).map((c) => [c.kind, c.winner]).sort()).toEqual([['delete_update', 'theirs'], ['update_update', 'ours']]);
    await expectQuiet([a, b]);
  });

  it('a schema change travels: migrate on one replica, the hub and the other carry it, and rows of the new column sync', async () => {
    const hub = await box.hub(store);
    const { a, b } = await pair(hub.url);
    await migrated(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'; UPDATE t SET color = 'blue' WHERE id = 1");
    const pushed = await ok<{ schemaChanges: string[] }>(['-d', a, 'push']);
    expect(pushed.schemaChanges).toEqual(['column t.color']);
    await ok(['-d', b, 'pull']);
    expect(await rows(b, 'select id, color from t order by id')).toEqual([
      { id: 1, color: 'blue' },
      { id: 2, color: 'red' },
      { id: 3, color: 'red' },
    ]);
    const info = await getJson(`${hub.url}/v1/datasets/shop`);
    expect(info.schema.version).toBe(1);
    expect(info.schema.tables[0]?.columns.map((c: { name: string }) => c.name)).toEqual(['id', 'name', 'qty', 'color']);
    // A schema the hub cannot carry over is refused on either store alike.
    const bad = await fetch(`${hub.url}/v1/datasets/shop/schema`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 9, tables: [{ name: 't', columns: [{ name: 'id', type: 'TEXT', notnull: true, dflt: null, pk: 1 }] }] }),
    });
    expect(bad.status).toBe(409);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('schema_mismatch');
  });

  it('a push cut by a killed hub resumes from its last committed page on the restarted hub', async () => {
    let hub = await box.hub(store);
    const a = box.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await sql(a, bulkInsert(6000));
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/big`]);
    const site = String(peek(a, 'select lower(hex(site_id)) from crsql_site_id where ordinal = 0'));
    const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', '--page-size', '200']);
    const received = async (): Promise<number> => {
      const r = await fetch(`${hub.url}/v1/datasets/big?site=${site}`).catch(() => undefined);
      return r?.ok ? Number(((await r.json()) as { received: { version: string } }).received.version) : 0;
    };
    await within(30_000, async () => (await received()) > 0);
    hub.proc.kill('SIGKILL');
    expect((await push).exitCode).toBe(3);
    hub = await box.hub(store);
    const info = await getJson(`${hub.url}/v1/datasets/big`);
    const committed = Number(info.dbVersion);
    expect(committed).toBeGreaterThan(0);
    await ok(['-d', a, 'remote', 'set-url', 'origin', `${hub.url}/big`]);
    const rest = await ok(['-d', a, 'push', '--page-size', '200']);
    // Pages of 200 changes, each its own hub version: what was committed is not sent again.
    expect(rest.sent).toBe(12_000 - committed * 200);
    const b = box.path('b.db');
    await ok(['clone', `${hub.url}/big`, b]);
    const digest = 'select count(*) as n, sum(id) as ids, sum(qty) as qty from t';
    expect(await rows(b, digest)).toEqual(await rows(a, digest));
  });

  it('a live pull (sync --watch) sees a push as it lands', async () => {
    const hub = await box.hub(store);
    const { a, b } = await pair(hub.url);
    const w = startWatcher(b);
    await w.next((e) => e.state === 'live');
    await sql(a, "insert into t values (10, 'live', 10)");
    await ok(['-d', a, 'push']);
    const ms = await within(5000, async () => (await rows(b, 'select name from t where id = 10')).length === 1);
    expect(ms).toBeLessThan(5000);
    expect((await w.stop('SIGTERM')).exitCode).toBe(0);
  });

  it('tokens: a read token pulls but cannot push, a site id belongs to the token that first pushed as it', async () => {
    const tokens = box.path('tokens');
    writeFileSync(tokens, 'rw read-write\nrw2 read-write\nro read\n');
    const hub = await box.hub(store, { extra: ['--tokens', tokens] });
    const a = box.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await sql(a, "insert into t values (1, 'one', 1)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    const none = await runJson<{ error: { code: string } }>(['-d', a, 'push', '--create']);
    expect([none.exitCode, none.json.error.code]).toEqual([4, 'auth_failed']);
    await ok(['-d', a, 'push', '--create'], { CRSYNC_TOKEN: 'rw' });
    const b = box.path('b.db');
    await ok(['clone', `${hub.url}/shop`, b], { CRSYNC_TOKEN: 'ro' });
    await sql(b, "insert into t values (2, 'two', 2)");
    const ro = await runJson<{ error: { code: string } }>(['-d', b, 'push'], { CRSYNC_TOKEN: 'ro' });
    expect([ro.exitCode, ro.json.error.code]).toEqual([4, 'forbidden']);
    // a's site is rw's now: the same replica pushing with another token is refused.
    await sql(a, "insert into t values (3, 'three', 3)");
    const other = await runJson<{ error: { code: string } }>(['-d', a, 'push'], { CRSYNC_TOKEN: 'rw2' });
    expect([other.exitCode, other.json.error.code]).toEqual([4, 'site_owned']);
    const list = await crsyncJson<{ datasets: { name: string }[] }>(['remote', 'datasets', hub.url], { env: { CRSYNC_TOKEN: 'ro' } });
    expect(list.json.datasets.map((d) => d.name)).toEqual(['shop']);
    expect((await run(['-d', a, 'push'], { CRSYNC_TOKEN: 'rw' })).exitCode).toBe(0);
  });
});
