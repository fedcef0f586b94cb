import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type * as Codec from '../../src/sync/protocol/codec.js';
import { ok, rows, run, sandbox, sql } from './sync-helpers.js';
import { pushedShop, startWatcher, within } from './live-helpers.js';
import { migrated } from './migrate-helpers.js';

// The built codec, as a client of the hub would use it.
const codec = (await import(pathToFileURL(resolve(import.meta.dirname, '../../dist/sync/protocol/codec.js')).href)) as typeof Codec;

const box = sandbox('crsync-liveid-');

/** One raw pull: its status, headers, changes, end frame and error code. */
async function rawPull(url: string) {
  const started = performance.now();
  const r = await request(url, { headers: { 'accept-encoding': 'gzip' } });
  const body = Buffer.from(await r.body.arrayBuffer());
  const ms = performance.now() - started;
  if (r.statusCode !== 200) return { status: r.statusCode, ms, code: (JSON.parse(body.toString()) as { error: { code: string } }).error.code };
  let changes = 0;
  let end: Codec.Frame & { type: 'end' } | undefined;
  // A gzip answer would fail to read as frames here: the small ones must come as they are.
  for await (const f of codec.readFrames([body])) {
    if (f.type === 'page') changes += f.page.changes.length;
    if (f.type === 'end') end = f;
  }
  return { status: 200, ms, headers: r.headers, changes, end: end?.end };
}

describe('pulls near the head of the stream (one read shared by every site)', () => {
  it('each site gets the shared read with what it delivered left out, and the same cursor', async () => {
    const hub = await box.hub();
    const b = box.path('b.db');
    const { base } = await pushedShop(box, hub.url, "insert into t (id, name) values (1, 'one')");
    expect((await run(['clone', `${hub.url}/shop`, b])).exitCode).toBe(0);
    const bSite = (await ok<{ siteId: string }>(['-d', b, 'status'])).siteId;
    const head = (await rawPull(`${base}/changes?site=${randomBytes(16).toString('hex')}`)).end!.cursor;
    await sql(b, "insert into t (id, name) values (2, 'from b')");
    await ok(['-d', b, 'push']);
    const from = `since=${head.version}&seq=${head.seq}`;
    // Another site first (it makes the shared read), then the writer, then another site again.
    const other = await rawPull(`${base}/changes?site=${randomBytes(16).toString('hex')}&${from}`);
    const writer = await rawPull(`${base}/changes?site=${bSite}&${from}`);
    const again = await rawPull(`${base}/changes?site=${randomBytes(16).toString('hex')}&${from}`);
    // The row's four cells (name, qty, price, data).
    expect(other).toMatchObject({ status: 200, changes: 4 });
    expect(again).toMatchObject({ status: 200, changes: 4 });
    expect(writer).toMatchObject({ status: 200, changes: 0 });
    expect(writer.end!.cursor).toEqual(other.end!.cursor);
    expect(other.end!.cursor.version).toBeGreaterThan(head.version);
  });
});

describe('live pulls name the identity they know (no info request per cycle)', () => {
  it('the end frame vouches for the identity; one that no longer holds gets an end frame alone, at once; bad ones are 400', async () => {
    const hub = await box.hub();
    const { base } = await pushedShop(box, hub.url, "insert into t (id, name) values (1, 'one'), (2, 'two')");
    const site = randomBytes(16).toString('hex');
    const info = (await (await request(`${base}?site=${site}`)).body.json()) as { siteId: string; schema: { hash: string } };
    const known = `knownSite=${info.siteId}&knownSchema=${info.schema.hash}`;

    const plain = await rawPull(`${base}/changes?site=${site}`);
    expect(plain).toMatchObject({ status: 200, changes: 8 });
    expect(plain.end).toEqual({ cursor: plain.end!.cursor, changes: 8 });

    const vouched = await rawPull(`${base}/changes?site=${site}&${known}&wait=5000`);
    expect(vouched).toMatchObject({ status: 200, changes: 8, end: { changes: 8, hubSite: info.siteId, schemaHash: info.schema.hash } });
    // A small answer goes whole: a length, no gzip (though the client takes it).
    expect(vouched.headers!['content-encoding']).toBeUndefined();
    expect(Number(vouched.headers!['content-length'])).toBeGreaterThan(0);

    // A schema the hub no longer has: no page (the client would apply changes of a schema it lacks), at once though held.
    const stale = await rawPull(`${base}/changes?site=${site}&knownSite=${info.siteId}&knownSchema=${'0'.repeat(64)}&wait=5000`);
    expect(stale).toMatchObject({ status: 200, changes: 0, end: { cursor: { version: 0n, seq: -1n }, changes: 0, hubSite: info.siteId, schemaHash: info.schema.hash } });
    expect(stale.ms).toBeLessThan(3000);
    const otherSite = await rawPull(`${base}/changes?site=${site}&knownSite=${'ab'.repeat(16)}&knownSchema=${info.schema.hash}`);
    expect(otherSite).toMatchObject({ status: 200, changes: 0, end: { hubSite: info.siteId } });

    for (const q of [`knownSite=${info.siteId}`, `knownSchema=${info.schema.hash}`, `knownSite=xyz&knownSchema=${info.schema.hash}`, `knownSite=${info.siteId}&knownSchema=${info.schema.hash.toUpperCase()}`]) {
      expect(await rawPull(`${base}/changes?site=${site}&${q}`), q).toMatchObject({ status: 400, code: 'bad_request' });
    }
  });

  it('a watcher asks for the info once, not per cycle, and still carries a schema change over when one lands', async () => {
    const hub = await box.hub();
    const lines: string[] = [];
    createInterface({ input: hub.proc.stderr! }).on('line', (l) => lines.push(l));
    const b = box.path('b.db');
    const { a } = await pushedShop(box, hub.url, 'select 1', 'create table t (id integer primary key not null, name text)');
    expect((await run(['clone', `${hub.url}/shop`, b])).exitCode).toBe(0);
    const bSite = (await ok<{ siteId: string }>(['-d', b, 'status'])).siteId;
    const infoOfB = () => lines.filter((l) => / GET \/v1\/datasets\/shop \d{3} /.test(l) && l.includes(`site ${bSite.slice(0, 8)}`)).length;

    const wb = startWatcher(b);
    await wb.next((e) => e.state === 'live');
    const before = infoOfB();
    for (let i = 1; i <= 5; i++) {
      await sql(a, `insert into t values (${i}, 'row ${i}')`);
      await ok(['-d', a, 'push']);
      await within(10_000, async () => ((await rows(b, 'select count(*) as n from t')) as { n: number }[])[0]!.n === i);
    }
    // Five cycles, each woken by a push: not one info request among them.
    expect(infoOfB() - before).toBe(0);

    // A migration lands on the hub: the held pull is told, the watcher asks again and carries it over.
    await migrated(a, "ALTER TABLE t ADD COLUMN color TEXT DEFAULT 'red'; UPDATE t SET color = 'blue' WHERE id = 2");
    await ok(['-d', a, 'push']);
    await within(10_000, async () => JSON.stringify(await rows(b, 'select id, color from t where id = 2').catch(() => [])) === '[{"id":2,"color":"blue"}]');
    expect(infoOfB() - before).toBeGreaterThanOrEqual(1);
    expect((await wb.stop()).exitCode).toBe(0);
  });
});
