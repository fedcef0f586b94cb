import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as Codec from '../../src/sync/protocol/codec.js';
import { makeReplica, ok, rows, sandbox, sql } from './sync-helpers.js';

// The built codec, as a client of the hub would use it.
const codec = (await import(pathToFileURL(resolve(import.meta.dirname, '../../dist/sync/protocol/codec.js')).href)) as typeof Codec;

const box = sandbox('crsync-datasets-');

/** Waits until `check` holds, polling; false when it never did within `ms`. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('hub datasets', () => {
  it('closes a dataset idle past --dataset-idle (its WAL checkpointed away), reopens it on the next request, and never while a push is under way', async () => {
    const hub = await box.hub('hub', ['--dataset-idle', '1s']);
    const a = box.path('a.db');
    const b = box.path('b.db');
    const wal = box.path('hub/shop.db-wal');
    await makeReplica(a);
    await sql(a, "insert into t (id, name) values (1, 'one'), (2, 'two')");
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create', '--no-snapshot']);
    // Open: the hub's connections keep the write-ahead log.
    expect(existsSync(wal)).toBe(true);
    // Idle: every connection finalized and closed, so SQLite folds the log into the file and removes it.
    expect(await eventually(() => !existsSync(wal), 10_000)).toBe(true);
    expect(existsSync(box.path('hub/shop.db-shm'))).toBe(false);

    // The next request opens it again, and everything is there.
    await ok(['clone', `${hub.url}/shop`, b]);
    expect(existsSync(wal)).toBe(true);
    expect(await rows(b, 'select id, name from t order by id')).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);

    // A push that pauses longer than the idle time keeps the dataset open; its page commits after.
    const info = (await (await fetch(`${hub.url}/v1/datasets/shop`)).json()) as { schema: { hash: string } };
    const site = randomBytes(16);
    const push = httpRequest(`${hub.url}/v1/datasets/shop/changes`, { method: 'POST', headers: { 'content-type': 'application/vnd.crsync.frames+msgpack' } });
    const answer = new Promise<{ status: number; body: string }>((res, rej) => {
      push.on('response', (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      });
      push.on('error', rej);
    });
    push.write(codec.encodeHeader({ site, schemaHash: info.schema.hash }));
    await new Promise((r) => setTimeout(r, 2500));
    expect(existsSync(wal)).toBe(true);
    const pk = Buffer.from('010903', 'hex'); // crsql_pack_columns(3)
    const page = { changes: [['t', pk, 'name', 'three', 1n, 1n, site, 1n, 0n]], cursor: { version: 1n, seq: 0n } } as unknown as Parameters<typeof codec.encodePage>[0];
    push.end(Buffer.concat([codec.encodePage(page), codec.encodeEnd({ cursor: page.cursor, changes: 1 })]));
    const r = await answer;
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ received: 1, pages: 1, cursor: { version: '1', seq: '0' } });
    await ok(['-d', b, 'pull']);
    expect(await rows(b, 'select id, name from t where id = 3')).toEqual([{ id: 3, name: 'three' }]);
  });

  it('answers health checks while it counts a big stale pull, and counts right', async () => {
    mkdirSync(box.path('hub'));
    const file = box.path('hub/big.db');
    await makeReplica(file, 'create table t (id integer primary key not null, name text, qty integer, note text)');
    // 600k changes: counted in the hub's event loop, this took seconds, and health checks waited.
    const n = 200_000;
    await sql(file, `with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n}) insert into t select i, 'row ' || i, i % 97, 'note' from s`);
    const hub = await box.hub('hub');
    const base = `${hub.url}/v1/datasets/big`;
    const site = randomBytes(16).toString('hex');
    expect((await fetch(`${base}?site=${site}`)).status).toBe(200);

    let counted: number | undefined;
    const count = fetch(`${base}/changes?count=1&since=0&seq=-1&site=${site}`)
      .then((r) => r.json() as Promise<{ count: number }>)
      .then((j) => (counted = j.count));
    // Health checks while the count is under way: each answered, well within a second.
    const during: number[] = [];
    while (counted === undefined) {
      const t = performance.now();
      const h = await fetch(`${hub.url}/v1/health`, { signal: AbortSignal.timeout(5000) });
      expect(await h.json()).toEqual({ ok: true, protocol: 1 });
      if (counted === undefined) during.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    await count;
    expect(counted).toBe(n * 3); // three columns besides the key
    expect(during.length).toBeGreaterThan(0);
    expect(Math.max(...during)).toBeLessThan(1000);

    // Counting from a cursor beyond the end is refused with the same error as a pull.
    const ahead = await fetch(`${base}/changes?count=1&since=99999999&seq=-1&site=${site}`);
    expect(ahead.status).toBe(400);
    expect(((await ahead.json()) as { error: { code: string } }).error.code).toBe('cursor_ahead');
  });
});
