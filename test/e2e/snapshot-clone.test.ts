import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANGES, crossEdits, makeReplica, ok, rows, runJson, sandbox, sql } from './sync-helpers.js';
import { doctorSchema, migrated } from './migrate-helpers.js';

const box = sandbox('crsync-snapshot-');

interface CloneJson {
  via: 'snapshot' | 'changes';
  received: number;
  siteId: string;
  bytes: number;
}

/** A hub with history: deletes, a re-insert, a conflict between two sites, a migration, and a write of the hub's own. */
async function hubWithHistory(): Promise<{ url: string; a: string; b: string }> {
  const hub = await box.hub();
  const url = `${hub.url}/shop`;
  const a = box.path('a.db');
  const b = box.path('b.db');
  await makeReplica(a);
  await sql(a, `insert into t (id, name, qty, price, data) values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, 2.5, null), (3, 'three', 3, 0.0, x'')`);
  await ok(['-d', a, 'remote', 'add', 'origin', url]);
  await ok(['-d', a, 'push', '--create']);
  await ok(['clone', '--no-snapshot', url, b]);
  await crossEdits(a, b);
  await migrated(a, 'alter table t add column note text;');
  await sql(a, `update t set note = 'noted' where id = 1`);
  await ok(['-d', a, 'sync']);
  await ok(['-d', b, 'sync']);
  // A write of the hub's own (its ordinal 0 in the clock tables): a snapshot must re-attribute it.
  await sql(join(box.path('hub'), 'shop.db'), `update t set qty = 99 where id = 3`);
  return { url, a, b };
}

describe('crsync clone by snapshot', () => {
  it('holds exactly what a change-stream clone holds, and syncs on from the snapshot position', async () => {
    const { url, a } = await hubWithHistory();
    const s = box.path('s.db');
    const c = box.path('c.db');
    const snap = await ok<CloneJson>(['clone', url, s]);
    const stream = await ok<CloneJson>(['clone', '--no-snapshot', url, c]);
    expect(snap.via).toBe('snapshot');
    expect(stream.via).toBe('changes');
    expect(snap.siteId).not.toBe(stream.siteId);
    expect(snap.received).toBe(stream.received);
    const expected = await rows(c, CHANGES);
    expect(expected.length).toBeGreaterThan(10);
    expect(await rows(s, CHANGES)).toEqual(expected);
    expect(await rows(s, 'select * from t order by id')).toEqual(await rows(c, 'select * from t order by id'));
    expect(await doctorSchema(s)).toEqual(await doctorSchema(c));
    // Nothing of the hub's bookkeeping of other sites came along; the origin remote did.
    expect(await rows(s, 'select count(*) as n from crsync_peers where site_id <> (select remote_site from crsync_remotes)')).toEqual([{ n: 0 }]);
    expect(await rows(s, 'select count(*) as n from crsync_conflicts')).toEqual([{ n: 0 }]);
    expect(await rows(s, 'select name, url from crsync_remotes')).toEqual([{ name: 'origin', url }]);

    // The snapshot's own site writes nothing until it edits; the next sync moves only the edit.
    expect(await ok(['-d', s, 'sync'])).toMatchObject({ sent: 0, received: 0 });
    await sql(s, `update t set name = 'edited' where id = 1`);
    expect(await ok(['-d', s, 'sync'])).toMatchObject({ sent: 1, received: 0 });
    await ok(['-d', c, 'pull']);
    // A further pull brings only what was written after.
    await sql(a, `insert into t (id, name) values (10, 'ten')`);
    await ok(['-d', a, 'sync']);
    const later = await ok(['-d', s, 'pull']);
    expect(later.received).toBe((await ok(['-d', c, 'pull'])).received);
    expect(later.received).toBeGreaterThan(0);
    expect(await rows(s, CHANGES)).toEqual(await rows(c, CHANGES));
  }, 120_000);

  it('clones a peer file by copying it with a new identity', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `insert into t (id, name, qty) values (1, 'one', 1), (2, 'two', 2)`);
    await sql(a, `delete from t where id = 2`);
    const s = await ok<CloneJson>(['clone', a, box.path('s.db')]);
    const c = await ok<CloneJson>(['clone', '--no-snapshot', a, box.path('c.db')]);
    expect([s.via, c.via]).toEqual(['snapshot', 'changes']);
    expect(await rows(box.path('s.db'), CHANGES)).toEqual(await rows(box.path('c.db'), CHANGES));
    await sql(box.path('s.db'), `update t set qty = 5 where id = 1`);
    expect(await ok(['-d', box.path('s.db'), 'sync'])).toMatchObject({ sent: 1, received: 0 });
    expect(await rows(a, 'select id, qty from t')).toEqual([{ id: 1, qty: 5 }]);
  }, 60_000);

  it('into an existing empty replica, by snapshot', async () => {
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `insert into t (id, name) values (1, 'one')`);
    const hub = await box.hub();
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    const empty = box.path('empty.db');
    await ok(['-d', empty, 'init']);
    expect((await ok<CloneJson>(['clone', `${hub.url}/shop`, empty])).via).toBe('snapshot');
  }, 60_000);
});

describe('a snapshot that does not arrive whole', () => {
  let proxy: Server | undefined;
  /** What the proxy does to the snapshot answer now ('pass': nothing). */
  let mode: 'flip' | 'truncate' | 'cut' | 'absent' | 'pass' = 'pass';
  afterEach(async () => {
    proxy?.closeAllConnections();
    if (proxy) await new Promise((r) => proxy!.close(r));
    proxy = undefined;
  });

  /** A proxy in front of the hub that may mangle the snapshot answer (or pretend not to know it). */
  async function mangling(target: string, start: typeof mode): Promise<string> {
    mode = start;
    proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      const mangle = mode;
      const snapshot = req.url?.endsWith('/snapshot') ?? false;
      if (snapshot && mangle === 'absent') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such endpoint' } }));
        return;
      }
      const up = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
        if (!snapshot || mangle === 'pass') {
          res.writeHead(upRes.statusCode!, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers = { ...upRes.headers };
          if (mangle === 'flip') { const i = body.length >> 1; body[i] = body[i]! ^ 0xff; }
          const sent = mangle === 'truncate' ? body.subarray(0, body.length - 40) : mangle === 'cut' ? body.subarray(0, body.length >> 1) : body;
          if (mangle === 'truncate') headers['content-length'] = String(sent.length);
          res.writeHead(upRes.statusCode!, headers);
          if (mangle === 'cut') res.write(sent, () => res.destroy());
          else res.end(sent);
        });
      });
      req.pipe(up);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/shop`;
  }

  async function seeded(): Promise<string> {
    const hub = await box.hub();
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 3000) insert into t (id, name, data) select i, 'row ' || i, randomblob(64) from s`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    return hub.url;
  }

  const leftovers = (): string[] => readdirSync(box.dir).filter((f) => f.startsWith('s.db'));

  for (const mangle of ['flip', 'truncate'] as const) {
    it(`refuses a ${mangle === 'flip' ? 'corrupted' : 'truncated'} snapshot and leaves nothing behind`, async () => {
      const url = await mangling(await seeded(), mangle);
      const r = await runJson<{ error: { code: string } }>(['clone', url, box.path('s.db')]);
      expect(r.exitCode).toBe(1);
      expect(r.json.error.code).toBe('snapshot_corrupt');
      expect(leftovers()).toEqual([]);
    }, 60_000);
  }

  it('resumes a download that was cut, and never leaves a file that looks like a replica', async () => {
    const hubUrl = await seeded();
    const url = await mangling(hubUrl, 'cut');
    const r = await runJson<{ error: { code: string; message: string } }>(['clone', url, box.path('s.db')]);
    // Every retry is cut too: the retries give up as for any connection that keeps failing.
    expect(r.json.error.code).toBe('remote_unreachable');
    expect(r.json.error.message).toMatch(/snapshot download was cut/);
    expect(r.exitCode).toBe(3);
    expect(existsSync(box.path('s.db'))).toBe(false);
    expect(leftovers().sort()).toEqual(['s.db.partial.gz', 's.db.partial.gz.json']);
    // The same clone, once the connection holds, asks only for the rest.
    mode = 'pass';
    const done = await ok<CloneJson>(['clone', url, box.path('s.db')]);
    const whole = await ok<CloneJson>(['clone', `${hubUrl}/shop`, box.path('w.db')]);
    expect(done.via).toBe('snapshot');
    expect(done.bytes).toBeLessThan(whole.bytes);
    expect(leftovers()).toEqual(['s.db']);
    expect(await rows(box.path('s.db'), CHANGES)).toEqual(await rows(box.path('w.db'), CHANGES));
  }, 60_000);

  it('falls back to the change stream when the hub has no snapshot endpoint', async () => {
    const url = await mangling(await seeded(), 'absent');
    expect((await ok<CloneJson>(['clone', url, box.path('s.db')])).via).toBe('changes');
    expect(await rows(box.path('s.db'), 'select count(*) as n from t')).toEqual([{ n: 3000 }]);
  }, 60_000);
});
