import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CHANGES, crossEdits, makeReplica, ok, rows, sql } from './sync-helpers.js';
import { doctorSchema, migrated } from './migrate-helpers.js';
import { STORES, getJson, pgQuery, storeSandbox, type StoreKind } from './store-helpers.js';
import { expectSameClones } from './snapshot-push-helpers.js';

// Snapshots on the PostgreSQL store: a clone by snapshot and a first push by snapshot make what
// the change stream makes, and the snapshot endpoints answer as on the SQLite store.
const box = storeSandbox('crsync-snapshot-pg-');

interface TransferJson {
  via: 'snapshot' | 'changes';
  sent: number;
  received: number;
  siteId: string;
}

/** Replica a with deletes, a re-insert, another site's writes merged in, a conflict and a migration behind it, pushed to `url`. */
async function history(url: string): Promise<{ a: string; b: string }> {
  const a = box.path('a.db');
  const b = box.path('b.db');
  await makeReplica(a);
  await sql(a, `insert into t (id, name, qty, price, data) values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, 2.5, null), (3, 'three', 3, 0.0, x''), (4, 'four', 4, -0.5, x'ff00'), (200, 'two hundred', 200, 2e2, null), (40000, 'forty thousand', -40000, 4e4, x'40')`);
  await ok(['-d', a, 'remote', 'add', 'origin', url]);
  await ok(['-d', a, 'push', '--create']);
  await ok(['clone', '--no-snapshot', url, b]);
  await sql(a, `insert into t (id) values (5)`);
  await crossEdits(a, b);
  await migrated(a, "alter table t add column note text default 'none';");
  await sql(a, `update t set note = 'noted' where id = 1`);
  await ok(['-d', a, 'sync']);
  await ok(['-d', b, 'sync']);
  return { a, b };
}

describe('snapshots on a PostgreSQL hub', () => {
  it('a snapshot clone holds exactly what a change-stream clone holds, and both sync on', async () => {
    const hub = await box.hub('postgres');
    const url = `${hub.url}/shop`;
    const { a } = await history(url);
    const s = box.path('s.db');
    const c = box.path('c.db');
    const snap = await ok<TransferJson>(['clone', url, s]);
    const stream = await ok<TransferJson>(['clone', '--no-snapshot', url, c]);
    expect([snap.via, stream.via]).toEqual(['snapshot', 'changes']);
    expect(snap.received).toBe(stream.received);
    const expected = await rows(c, CHANGES);
    expect(expected.length).toBeGreaterThan(15);
    expect(await rows(s, CHANGES)).toEqual(expected);
    expect(await rows(s, 'select * from t order by id')).toEqual(await rows(c, 'select * from t order by id'));
    expect(await rows(s, 'select * from t order by id')).toEqual(await rows(a, 'select * from t order by id'));
    expect(await doctorSchema(s)).toEqual(await doctorSchema(c));
    expect(await rows(s, 'select count(*) as n from crsync_conflicts')).toEqual([{ n: 0 }]);
    expect(await rows(s, 'select name, url from crsync_remotes')).toEqual([{ name: 'origin', url }]);

    // The snapshot stands at the hub's position: nothing to move, then only the edits.
    expect(await ok(['-d', s, 'sync'])).toMatchObject({ sent: 0, received: 0 });
    await sql(s, `update t set name = 'edited' where id = 1`);
    expect(await ok(['-d', s, 'sync'])).toMatchObject({ sent: 1, received: 0 });
    expect(await ok(['-d', c, 'pull'])).toMatchObject({ received: 1 });
    await sql(a, `insert into t (id, name) values (10, 'ten')`);
    await ok(['-d', a, 'sync']);
    const later = await ok(['-d', s, 'pull']);
    expect(later.received).toBe((await ok(['-d', c, 'pull'])).received);
    expect(await rows(s, CHANGES)).toEqual(await rows(c, CHANGES));
  }, 120_000);

  it('a first push by snapshot makes the dataset a change-stream push makes', async () => {
    const db = await box.database();
    const hub = await box.hub('postgres', { url: db });
    const { a } = await history(`${hub.url}/seed`);
    // The same replica, pushed twice more: by snapshot and by change stream.
    await ok(['-d', a, 'remote', 'add', 'snap', `${hub.url}/snap`]);
    await ok(['-d', a, 'remote', 'add', 'stream', `${hub.url}/stream`]);
    const bySnapshot = await ok<TransferJson>(['-d', a, 'push', 'snap', '--create']);
    const byStream = await ok<TransferJson>(['-d', a, 'push', 'stream', '--create', '--no-snapshot']);
    expect([bySnapshot.via, byStream.via]).toEqual(['snapshot', 'changes']);
    expect(bySnapshot.sent).toBe(byStream.sent);
    const [snapInfo, streamInfo] = [await getJson(`${hub.url}/v1/datasets/snap`), await getJson(`${hub.url}/v1/datasets/stream`)];
    expect(snapInfo.schema).toEqual(streamInfo.schema);
    expect(snapInfo.siteId).not.toBe(streamInfo.siteId);

    const { s } = await expectSameClones(box, hub.url, 15);
    // The cells themselves: same values and clocks; every one brought by a.
    const cells = async (name: string): Promise<unknown[]> =>
      pgQuery(db, `SELECT c.tbl, encode(c.pk, 'hex') AS pk, c.cid, c.val_type, c.val_int::text AS i, c.val_real, encode(c.val_bytes, 'hex') AS b,
        c.col_version::text AS cv, c.cl::text AS cl, encode(c.site_id, 'hex') AS site, encode(c.pusher, 'hex') AS pusher
        FROM crsync_cells c JOIN crsync_datasets d ON d.id = c.dataset WHERE d.name = $1 ORDER BY 1, 2, 3`, [name]);
    expect(await cells('snap')).toEqual(await cells('stream'));

    // The pusher's cursors stand at the snapshot; edits flow both ways after.
    expect(await ok(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 0 });
    await sql(a, `update t set qty = 100 where id = 1`);
    expect(await ok(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 1, received: 0, via: 'changes' });
    expect(await ok(['-d', s, 'pull'])).toMatchObject({ received: 1 });
    await sql(s, `update t set name = 'from s' where id = 4`);
    expect(await ok(['-d', s, 'sync'])).toMatchObject({ sent: 1, received: 0 });
    expect(await ok(['-d', a, 'sync', 'snap'])).toMatchObject({ sent: 0, received: 1 });
    expect(await rows(a, 'select * from t order by id')).toEqual(await rows(s, 'select * from t order by id'));
  }, 180_000);

  it('two hub processes on one database serve the same snapshot bytes, so a cut download resumes on the other', async () => {
    const url = await box.database();
    const h1 = await box.hub('postgres', { url });
    const h2 = await box.hub('postgres', { url });
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 2000) insert into t (id, name, qty, data) select i, 'row ' || i, i, randomblob(32) from s`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${h1.url}/shop`]);
    expect(await ok<TransferJson>(['-d', a, 'push', '--create', '--no-snapshot'])).toMatchObject({ via: 'changes' });
    const [r1, r2] = [await fetch(`${h1.url}/v1/datasets/shop/snapshot`), await fetch(`${h2.url}/v1/datasets/shop/snapshot`)];
    const headers = (r: Response): Record<string, string | null> =>
      Object.fromEntries(['etag', 'content-length', 'x-crsync-snapshot-site', 'x-crsync-snapshot-version', 'x-crsync-snapshot-size', 'x-crsync-snapshot-sha256'].map((h) => [h, r.headers.get(h)]));
    const body1 = Buffer.from(await r1.arrayBuffer());
    await r2.arrayBuffer();
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(headers(r2)).toEqual(headers(r1));
    expect(r1.headers.get('x-crsync-snapshot-site')).toBe((await getJson(`${h2.url}/v1/datasets/shop`)).siteId);
    const half = body1.length >> 1;
    const rest = await fetch(`${h2.url}/v1/datasets/shop/snapshot`, { headers: { range: `bytes=${half}-`, 'if-range': r1.headers.get('etag')! } });
    expect(rest.status).toBe(206);
    expect(Buffer.concat([body1.subarray(0, half), Buffer.from(await rest.arrayBuffer())]).equals(body1)).toBe(true);
    expect(createHash('sha256').update(body1).digest('hex')).toBe(r1.headers.get('etag')!.slice(1, -1));
    // A clone through either hub is the same replica but for its own site id.
    await ok(['clone', `${h1.url}/shop`, box.path('s1.db')]);
    await ok(['clone', `${h2.url}/shop`, box.path('s2.db')]);
    expect(await rows(box.path('s2.db'), CHANGES)).toEqual(await rows(box.path('s1.db'), CHANGES));
    const digest = 'select count(*) as n, sum(id) as ids, sum(qty) as qty from t';
    expect(await rows(box.path('s1.db'), digest)).toEqual(await rows(a, digest));
  }, 120_000);

  /** What a hub of either store answers to the snapshot endpoints, as status and error code. */
  async function wire(kind: StoreKind): Promise<unknown[]> {
    const hub = await box.hub(kind, { dir: `hub-${kind}` });
    const a = box.path(`a-${kind}.db`);
    await makeReplica(a);
    await sql(a, `insert into t (id, name) values (1, 'one'), (2, 'two')`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    const pushed = await ok<TransferJson>(['-d', a, 'push', '--create']);
    const snap = `${hub.url}/v1/datasets/shop/snapshot`;
    const answer = async (r: Response): Promise<unknown> => {
      const text = await r.text();
      return [r.status, r.headers.get('content-type'), r.status >= 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : r.headers.get('accept-ranges')];
    };
    const got = await fetch(snap);
    const size = Number(got.headers.get('content-length'));
    const out: unknown[] = [pushed.via, await answer(got)];
    out.push(await answer(await fetch(`${hub.url}/v1/datasets/nope/snapshot`)));
    out.push(await answer(await fetch(snap, { headers: { range: `bytes=${size}-` } })));
    out.push(await answer(await fetch(snap, { headers: { range: 'bytes=0-10' } })));
    // Uploads: into a dataset with changes (refused before the body), and one whose checksum fails.
    const file = gzipSync(readFileSync(a));
    const upload = (name: string, sha: string): Promise<Response> =>
      fetch(`${hub.url}/v1/datasets/${name}/snapshot`, {
        method: 'POST',
        body: file,
        headers: {
          'content-type': 'application/vnd.crsync.snapshot+gzip',
          'x-crsync-protocol': '1',
          'x-crsync-snapshot-site': pushed.siteId ?? '00'.repeat(16),
          'x-crsync-snapshot-version': '1',
          'x-crsync-snapshot-size': String(readFileSync(a).length),
          'x-crsync-snapshot-sha256': sha,
        },
      });
    out.push(await answer(await upload('shop', '0'.repeat(64))));
    out.push(await answer(await upload('fresh', '0'.repeat(64))));
    out.push(await answer(await upload('fresh', 'zz')));
    // The right checksum of a replica that is no upload (it carries its remotes): checked and refused, nothing made.
    out.push(await answer(await upload('fresh', createHash('sha256').update(readFileSync(a)).digest('hex'))));
    out.push((await fetch(`${hub.url}/v1/datasets/fresh`)).status);
    return out;
  }

  it('the snapshot endpoints answer alike on both stores', async () => {
    const [onSqlite, onPg] = [await wire(STORES[0]!), await wire(STORES[1]!)];
    expect(onPg).toEqual(onSqlite);
    const json = 'application/json';
    expect(onPg).toEqual([
      'snapshot',
      [200, 'application/vnd.crsync.snapshot+gzip', 'bytes'],
      [404, json, 'dataset_not_found'],
      [416, json, 'range_not_satisfiable'],
      [416, json, 'range_not_satisfiable'],
      [409, json, 'dataset_not_empty'],
      [400, json, 'bad_snapshot'],
      [400, json, 'bad_request'],
      [400, json, 'bad_snapshot'],
      404,
    ]);
  }, 120_000);
});

