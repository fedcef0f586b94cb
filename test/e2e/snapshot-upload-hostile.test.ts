import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeReplica, ok, rows, sandbox, sql } from './sync-helpers.js';

const box = sandbox('crsync-snapshot-hostile-');

interface Upload {
  raw: Buffer;
  site: string;
  version: string;
}

/** A replica's file as an honest client uploads it (a fresh replica has no bookkeeping of others), changed by `edit` with plain SQLite. */
async function upload(edit?: (db: Database.Database) => void, write?: string): Promise<Upload> {
  const a = box.path(`a-${randomBytes(3).toString('hex')}.db`);
  await makeReplica(a);
  await sql(a, `insert into t (id, name, data) values (1, 'one', x'00'), (2, 'two', randomblob(3000))`);
  if (write) await sql(a, write);
  const copy = `${a}.copy`;
  const src = new Database(a);
  src.prepare('VACUUM INTO ?').run(copy);
  src.close();
  const db = new Database(copy);
  const site = (db.prepare('SELECT hex(site_id) FROM crsql_site_id WHERE ordinal = 0').pluck().get() as string).toLowerCase();
  const version = String(db.prepare('SELECT max(db_version) FROM t__crsql_clock').pluck().get());
  edit?.(db);
  db.close();
  return { raw: readFileSync(copy), site, version };
}

/** POSTs an upload as crsync does; `body` and headers can be overridden to lie. */
function post(url: string, u: Upload, over: { body?: Buffer; headers?: Record<string, string>; cutAfter?: number } = {}): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const body = over.body ?? gzipSync(u.raw);
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/datasets/shop/snapshot`, {
      method: 'POST',
      headers: {
        'content-type': 'application/vnd.crsync.snapshot+gzip',
        'content-length': String(body.length),
        'x-crsync-protocol': '1',
        'x-crsync-snapshot-site': u.site,
        'x-crsync-snapshot-version': u.version,
        'x-crsync-snapshot-size': String(u.raw.length),
        'x-crsync-snapshot-sha256': createHash('sha256').update(u.raw).digest('hex'),
        ...over.headers,
      },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as never }));
    });
    req.on('error', (err) => (over.cutAfter !== undefined ? resolve({ status: 0, body: {} }) : reject(err)));
    if (over.cutAfter !== undefined) {
      req.write(body.subarray(0, over.cutAfter), () => setTimeout(() => req.destroy(), 100));
    } else req.end(body);
  });
}

/** Nothing was installed and no upload file is left in the hub's folder. */
function expectNothingLeft(): void {
  expect(readdirSync(box.path('hub'))).toEqual([]);
}

describe('snapshot uploads a hub refuses', () => {
  it('refuses bad checksums, truncated or foreign files and bookkeeping of other sites, and installs nothing', async () => {
    const hub = await box.hub();
    const good = await upload();
    const cases: [string, Upload, Parameters<typeof post>[2], number, string][] = [
      ['checksum', good, { headers: { 'x-crsync-snapshot-sha256': 'ab'.repeat(32) } }, 400, 'bad_snapshot'],
      ['truncated gzip', good, { body: gzipSync(good.raw).subarray(0, 2000) }, 400, 'bad_snapshot'],
      ['larger than announced', good, { headers: { 'x-crsync-snapshot-size': '1000' } }, 400, 'bad_snapshot'],
      ['not SQLite', { ...good, raw: randomBytes(8192) }, {}, 400, 'bad_snapshot'],
      ['another protocol', good, { headers: { 'x-crsync-protocol': '2' } }, 400, 'bad_request'],
      ['another site than announced', good, { headers: { 'x-crsync-snapshot-site': 'ab'.repeat(16) } }, 400, 'bad_snapshot'],
      ['peers of the uploader', await upload((db) => db.prepare('INSERT INTO crsync_peers (site_id, recv_version, recv_seq, seen_version) VALUES (randomblob(16), 99, 0, 0)').run()), {}, 400, 'bad_snapshot'],
      ['merge records', await upload((db) => db.prepare("INSERT INTO crsync_applied VALUES (1, randomblob(16), 'x', 1, 'now', 1)").run()), {}, 400, 'bad_snapshot'],
      ['a table that is not replicated', await upload((db) => db.exec('CREATE TABLE extra (x)')), {}, 400, 'bad_snapshot'],
      ['a view', await upload((db) => db.exec('CREATE VIEW v AS SELECT 1')), {}, 400, 'bad_snapshot'],
      ['clock rows of a key that is not in the key table', await upload((db) => db.exec('DELETE FROM t__crsql_pks WHERE __crsql_key = (SELECT max(key) FROM t__crsql_clock)')), {}, 400, 'bad_snapshot'],
      ['a clock row of a column that does not exist', await upload((db) => db.exec("UPDATE t__crsql_clock SET col_name = 'nope' WHERE col_name = 'name'")), {}, 400, 'bad_snapshot'],
      ['an internal table in another shape', await upload((db) => db.exec('ALTER TABLE crsync_peers ADD COLUMN extra')), {}, 400, 'bad_snapshot'],
    ];
    for (const [what, u, over, status, code] of cases) {
      const r = await post(hub.url, u, over);
      expect({ what, status: r.status, code: r.body.error?.code }).toEqual({ what, status, code });
      expect(r.body.error?.message.length, what).toBeGreaterThan(10);
      expectNothingLeft();
    }
    // The honest upload goes in.
    expect((await post(hub.url, good)).status).toBe(200);
    expect(readdirSync(box.path('hub'))).toEqual(['shop.db']);
  }, 120_000);

  it('refuses what is over the hub\'s limits before or while it reads', async () => {
    const hub = await box.hub('hub', ['--max-value', '1000', '--max-frame', '100000', '--max-body', '200000', '--max-memory', '200000']);
    const good = await upload();
    const big = await upload(undefined, 'UPDATE t SET data = randomblob(300000) WHERE id = 1');
    let r = await post(hub.url, big);
    expect([r.status, r.body.error?.code]).toEqual([413, 'body_too_large']);
    r = await post(hub.url, good);
    expect([r.status, r.body.error?.code]).toEqual([413, 'value_too_large']);
    expectNothingLeft();
  }, 60_000);

  it('keeps none of an upload that was cut, and takes the next one whole', async () => {
    const hub = await box.hub();
    const good = await upload();
    const r = await post(hub.url, good, { cutAfter: 1500 });
    expect(r.status).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    expectNothingLeft();
    expect((await post(hub.url, good)).status).toBe(200);
    // A dataset that holds changes takes no snapshot: the file stays as it is.
    const again = await post(hub.url, await upload());
    expect([again.status, again.body.error?.code]).toEqual([409, 'dataset_not_empty']);
    expect(readdirSync(box.path('hub')).filter((f) => f.startsWith('.snapshot-'))).toEqual([]);
    const c = box.path('c.db');
    await ok(['clone', `${hub.url}/shop`, c]);
    expect(await rows(c, 'select id, name from t order by id')).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
  }, 60_000);

  it('never runs or keeps a trigger of the uploader', async () => {
    const hub = await box.hub();
    const u = await upload((db) => db.exec("CREATE TRIGGER evil AFTER INSERT ON t BEGIN INSERT INTO crsync_peers (site_id, recv_version) VALUES (randomblob(16), 1000); END"));
    expect((await post(hub.url, u)).status).toBe(200);
    const file = join(box.path('hub'), 'shop.db');
    const db = new Database(file, { readonly: true });
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").pluck().all();
    db.close();
    expect(triggers).not.toContain('evil');
    expect(triggers).toContain('t__crsql_itrig');
    // A push that inserts rows on the hub leaves crsync_peers alone.
    const b = box.path('b.db');
    await ok(['clone', `${hub.url}/shop`, b]);
    await sql(b, `insert into t (id, name) values (3, 'three')`);
    await ok(['-d', b, 'push']);
    expect(await rows(file, 'select count(*) as n from crsync_peers where recv_version = 1000')).toEqual([{ n: 0 }]);
  }, 60_000);
});
