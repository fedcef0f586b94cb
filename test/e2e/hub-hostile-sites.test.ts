import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PK1, call, codec, rawFrame } from './hostile-helpers.js';
import { makeReplica, ok, peek, rows, runJson, sql } from './sync-helpers.js';
import { STORES, storeSandbox, type StoreKind } from './store-helpers.js';
import { hubRecords } from './store-state.js';

// What one client can do to another's standing on the hub (issue 14): a GET writes nothing, a
// site id belongs to whoever first pushed as it, and conflict records from clients are checked.
// All of it is the store's bookkeeping: every test runs on both stores.

const tmp = storeSandbox('crsync-hostile-sites-');

/** A hub with dataset shop pushed by a.db, and b.db cloned from it. */
async function twoReplicas(kind: StoreKind, extra: string[] = [], env: Record<string, string> = {}) {
  const h = await tmp.hub(kind, { extra });
  const a = tmp.path('a.db');
  const b = tmp.path('b.db');
  await makeReplica(a);
  await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
  await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`], env);
  await ok(['-d', a, 'push', '--create'], env);
  await ok(['clone', `${h.url}/shop`, b], env);
  const siteOf = (db: string) => (peek(db, 'select hex(site_id) from crsql_site_id where ordinal = 0') as string).toLowerCase();
  const records = () => hubRecords(h, 'shop');
  return { h, a, b, records, siteOf };
}

describe.each(STORES)('a GET never writes hub state (%s)', (kind) => {
  it('pulls naming another site or random sites move no "seen" position and add no peer row; conflicts are still found', async () => {
    const { h, a, b, records, siteOf } = await twoReplicas(kind);
    const peers = async () => (await records()).peers.size;
    const seenOf = async (site: string) => (await records()).peers.get(site)?.seen;
    await sql(a, "update t set name = 'from a' where id = 1");
    await ok(['-d', a, 'push', '--create']);
    const before = { peers: await peers(), seenB: await seenOf(siteOf(b)) };
    const version = (await call(`${h.url}/v1/datasets/shop`)).json.dbVersion as string;
    // B's pull position claimed by someone else, and 50 pulls with made-up sites.
    const r = await call(`${h.url}/v1/datasets/shop/changes?site=${siteOf(b)}&since=${version}&count=1`);
    expect(r.status).toBe(200);
    const { request } = await import('undici');
    for (const site of [siteOf(b), ...Array.from({ length: 50 }, () => randomBytes(16).toString('hex'))]) {
      const res = await request(`${h.url}/v1/datasets/shop/changes?site=${site}&since=${version}`);
      expect(res.statusCode).toBe(200);
      await res.body.arrayBuffer();
    }
    expect({ peers: await peers(), seenB: await seenOf(siteOf(b)) }).toEqual(before);
    // B's concurrent edit of the same cell is still a recorded conflict (it lost silently).
    await sql(b, "update t set name = 'from b' where id = 1");
    const sync = await ok(['-d', b, 'sync']);
    expect(sync.conflicts).toBeGreaterThan(0);
  });
});

/** A push by `site` that carries only conflict records (wire JSON form). */
function conflictsPush(site: Buffer, records: unknown[]): Buffer {
  return Buffer.concat([
    codec.encodeHeader({ site, schemaHash: 'x', seen: 0n }),
    rawFrame(['c', records, 0]),
    codec.encodeEnd({ cursor: { version: 0n, seq: -1n }, changes: 0 }),
  ]);
}

describe.each(STORES)('conflict records from clients are checked (%s)', (kind) => {
  it('forged records are left out or refused; the victim lists and resolves its conflicts; 1000 on one cell take indexed time', async () => {
    const { h, a, b, records, siteOf } = await twoReplicas(kind);
    const thief = randomBytes(16);
    const victim = siteOf(b);
    const record = (o: Record<string, unknown>) => ({
      table: 't', pk: PK1.toString('hex'), cid: 'name', kind: 'update_update', ours: '"mine"', theirs: '"evil"', winner: 'theirs',
      oursSite: victim, theirsSite: thief.toString('hex'), oursColVersion: '5', theirsColVersion: '6', ...o,
    });
    const send = (records: unknown[]) =>
      call(`${h.url}/v1/datasets/shop/changes`, { method: 'POST', body: conflictsPush(thief, records), headers: { 'content-type': 'application/vnd.crsync.frames+msgpack' } });
    const count = async () => (await records()).conflicts;
    const forged = [
      record({ ours: 'not json {' }), // broke the victim's `conflicts` and `resolve`
      record({ cid: 'id', ours: '1', theirs: '99' }), // resolve --theirs rewrote the key
      record({ cid: 'nope' }),
      record({ winner: 'ours' }), // the lower col_version cannot win
      record({ oursSite: thief.toString('hex') }),
      record({ pk: '0109' }), // a cut-off key (cr-sqlite's unpacking trusts it)
      record({ kind: 'delete_update', cid: null, ours: '{"nope": 1}', oursColVersion: '1', theirsColVersion: '2' }),
    ];
    expect((await send(forged)).status).toBe(200);
    expect(await count()).toBe(0);
    // Over the cap of 1000 a push is refused.
    const tooMany = await send(Array.from({ length: 1001 }, (_, i) => record({ theirsColVersion: String(6 + i) })));
    expect({ status: tooMany.status, code: tooMany.json.error?.code }).toEqual({ status: 413, code: 'too_many_conflicts' });
    // 1000 well-formed records on one cell, twice: recorded once each, in indexed time (10,000 took 31 s).
    const started = Date.now();
    const batch = Array.from({ length: 1000 }, (_, i) => record({ theirsColVersion: String(6 + i) }));
    expect((await send(batch)).status).toBe(200);
    expect((await send(batch)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await count()).toBe(1000);
    // The victim hears of them (an open hub cannot tell them from real ones) and can still work.
    await ok(['-d', b, 'pull']);
    const list = await runJson<{ column: string }[]>(['-d', b, 'conflicts']);
    expect(list.exitCode).toBe(0);
    expect(list.json.length).toBeGreaterThan(0);
    expect(list.json.every((c) => c.column === 'name')).toBe(true);
    const resolved = await runJson(['-d', b, 'resolve', '--all', '--theirs']);
    expect(resolved.exitCode).toBe(0);
    expect((await rows(b, 'select id from t order by id'))).toEqual([{ id: 1 }, { id: 2 }]);
    await ok(['-d', b, 'sync']);
    await ok(['-d', a, 'sync']);
    expect(await rows(a)).toEqual(await rows(b));
  });
});

/** A push as `site` of one empty page whose cursor claims `version`. */
function emptyPush(site: Buffer, version: bigint): Buffer {
  return Buffer.concat([
    codec.encodeHeader({ site, schemaHash: 'x', seen: 0n }),
    codec.encodePage({ changes: [], cursor: { version, seq: 0n } }),
    codec.encodeEnd({ cursor: { version, seq: 0n }, changes: 0 }),
  ]);
}

describe.each(STORES)('a site id is not for anyone to push as (%s)', (kind) => {
  const FRAMES = { 'content-type': 'application/vnd.crsync.frames+msgpack' };

  it('with tokens, a push naming a site another token pushed as is 403 site_owned, and the owner’s rows still flow', async () => {
    const tokens = tmp.path('tokens');
    writeFileSync(tokens, 'alice-1 read-write\nmallory-2 read-write\n');
    const env = { CRSYNC_TOKEN: 'alice-1' };
    const { h, a, b, records, siteOf } = await twoReplicas(kind, ['--tokens', tokens], env);
    const received = async () => (await records()).peers.get(siteOf(a))?.recv;
    const before = await received();
    const spoof = await call(`${h.url}/v1/datasets/shop/changes`, { method: 'POST', body: emptyPush(Buffer.from(siteOf(a), 'hex'), 10n ** 12n), headers: { ...FRAMES, authorization: 'Bearer mallory-2' } });
    expect({ status: spoof.status, code: spoof.json.error?.code }).toEqual({ status: 403, code: 'site_owned' });
    expect(await received()).toBe(before);
    // The victim's next rows reach the others (its push said sent: 0 and they never arrived).
    await sql(a, "insert into t (id, name) values (3, 'after the spoof')");
    expect((await ok(['-d', a, 'push', '--create'], env)).sent).toBeGreaterThan(0);
    await ok(['-d', b, 'pull'], env);
    expect(await rows(b, 'select name from t where id = 3')).toEqual([{ name: 'after the spoof' }]);
  });

  it('on an open hub, an empty page with a cursor far beyond the site’s stream moves nothing', async () => {
    const { h, a, b, records, siteOf } = await twoReplicas(kind);
    const recv = async () => (await records()).peers.get(siteOf(a))?.recv;
    const before = await recv();
    const spoof = await call(`${h.url}/v1/datasets/shop/changes`, { method: 'POST', body: emptyPush(Buffer.from(siteOf(a), 'hex'), 10n ** 12n), headers: FRAMES });
    expect(spoof.status).toBe(200);
    expect(await recv()).toBe(before);
    await sql(a, "insert into t (id, name) values (3, 'after the spoof')");
    expect((await ok(['-d', a, 'push', '--create'])).sent).toBeGreaterThan(0);
    await ok(['-d', b, 'pull']);
    expect(await rows(b, 'select name from t where id = 3')).toEqual([{ name: 'after the spoof' }]);
  });
});
