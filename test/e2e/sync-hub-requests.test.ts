import { encode } from '@msgpack/msgpack';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Codec from '../../src/sync/protocol/codec.js';
import type { Change } from '../../src/sync/protocol/types.js';
import { startHub, tempDir, type Hub } from '../helpers.js';
import { makeReplica, ok, run, sql } from './sync-helpers.js';

// The built codec, as a client of the hub would use it.
const codec = (await import(pathToFileURL(resolve(import.meta.dirname, '../../dist/sync/protocol/codec.js')).href)) as typeof Codec;

let tmp: ReturnType<typeof tempDir>;
let h: Hub;
let hubFile: string;
let base: string;

beforeAll(async () => {
  tmp = tempDir('crsync-hubreq-');
  h = await startHub(tmp.path('hub'));
  const a = tmp.path('a.db');
  await makeReplica(a);
  await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
  await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  hubFile = tmp.path('hub/shop.db');
  base = `${h.url}/v1/datasets`;
});

afterAll(async () => {
  await h.stop();
  tmp.cleanup();
});

interface Answer {
  status: number;
  type: string | undefined;
  json: { error?: { code: string; message: string } };
}

async function call(method: 'GET' | 'POST' | 'PUT', path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await request(base + path, { method, body, headers });
  const text = await r.body.text();
  return { status: r.statusCode, type: r.headers['content-type'] as string | undefined, json: JSON.parse(text) as Answer['json'] };
}

/** The dataset as a user would compare it: version, rows, changes, bookkeeping. */
async function state(): Promise<unknown> {
  return ok(['-d', hubFile, 'sql', `select crsql_db_version() as v, (select count(*) from t) as n,
    (select count(*) from crsql_changes) as c, (select count(*) from crsync_peers) as peers, (select count(*) from crsync_applied) as applied`]);
}

const SITE = randomBytes(16);
const PK99 = Buffer.from('010963', 'hex'); // crsql_pack_columns(99)
const header = (site: Uint8Array = SITE) => codec.encodeHeader({ site, schemaHash: 'x', seen: 0n });
const change = (over: Partial<Record<'table' | 'cid', string>> & { pk?: Buffer; site?: Buffer } = {}): Change =>
  [over.table ?? 't', over.pk ?? PK99, over.cid ?? 'name', 'ninety-nine', 1n, 1n, over.site ?? SITE, 1n, 0n];
const page = (...changes: Change[]) => codec.encodePage({ changes, cursor: { version: 1n, seq: BigInt(changes.length - 1) } });
const end = codec.encodeEnd({ cursor: { version: 1n, seq: 0n }, changes: 1 });
const raw = (payload: unknown) => {
  const body = Buffer.from(encode(payload));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
};
const row = (i: number) => [0, Buffer.from([1, 0x21, i >> 8, i & 0xff]), 'name', 'x', 1, 1, 0, 1, 0];
const frames = (...parts: Buffer[]) => Buffer.concat(parts);
const whole = frames(header(), page(change()), end);
const schema = (type: string, dflt: string | null = null) => JSON.stringify({
  version: 1,
  tables: [{ name: 't', columns: [{ name: 'id', type: 'INTEGER', notnull: true, dflt: null, pk: 1 }, { name: 'name', type, notnull: false, dflt, pk: 0 }] }],
});

describe('the hub answers bad requests with a 4xx JSON error and changes nothing', () => {
  it('malformed, truncated, unknown, oversized and out-of-range requests', async () => {
    const before = await state();
    const info = await call('GET', '/shop');
    const hubSite = Buffer.from((info.json as { siteId: string }).siteId, 'hex');
    const cases: [string, Promise<Answer>, number, string][] = [
      ['not msgpack', call('POST', '/shop/changes', Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1])), 400, 'bad_stream'],
      ['not a tagged array', call('POST', '/shop/changes', raw(42)), 400, 'bad_stream'],
      ['unknown frame type', call('POST', '/shop/changes', frames(header(), raw(['z', 1]))), 400, 'bad_stream'],
      ['page before header', call('POST', '/shop/changes', frames(page(change()), end)), 400, 'bad_stream'],
      ['page of non-arrays', call('POST', '/shop/changes', frames(header(), raw(['p', 't', [], 7, 1, 0]))), 400, 'bad_stream'],
      ['value of a bad type', call('POST', '/shop/changes', frames(header(), raw(['p', ['t'], [SITE], [[0, PK99, 'name', { a: 1 }, 1, 1, 0, 1, 0]], 1, 0]))), 400, 'bad_stream'],
      ['body cut inside a page', call('POST', '/shop/changes', whole.subarray(0, whole.length - end.length - 7)), 400, 'truncated_stream'],
      ['gzip cut short', call('POST', '/shop/changes', gzipSync(whole).subarray(0, 30), { 'content-encoding': 'gzip' }), 400, 'bad_stream'],
      ['not gzip', call('POST', '/shop/changes', 'hello, hub', { 'content-encoding': 'gzip' }), 400, 'bad_stream'],
      ['unknown encoding', call('POST', '/shop/changes', whole, { 'content-encoding': 'br' }), 415, 'unsupported_encoding'],
      ['unknown table', call('POST', '/shop/changes', frames(header(), page(change({ table: 'nope' })), end)), 409, 'unknown_table'],
      ['unknown column', call('POST', '/shop/changes', frames(header(), page(change(), change({ cid: 'nope' })), end)), 409, 'unknown_column'],
      ['empty primary key', call('POST', '/shop/changes', frames(header(), page(change({ pk: Buffer.alloc(0) })), end)), 400, 'bad_change'],
      ['malformed primary key', call('POST', '/shop/changes', frames(header(), page(change({ pk: Buffer.from('0149', 'hex') })), end)), 400, 'bad_change'],
      ['two-column key for a one-column table', call('POST', '/shop/changes', frames(header(), page(change({ pk: Buffer.from('0209630901', 'hex') })), end)), 400, 'bad_change'],
      ['short site id in a change', call('POST', '/shop/changes', frames(header(), page(change({ site: Buffer.alloc(3, 1) })), end)), 400, 'bad_change'],
      ['short site id in the header', call('POST', '/shop/changes', frames(header(Buffer.alloc(3, 1)), page(change()), end)), 400, 'bad_request'],
      ["the hub's own site id", call('POST', '/shop/changes', frames(header(hubSite), page(change()), end)), 400, 'same_site'],
      ['page over 100000 changes', call('POST', '/shop/changes', frames(header(), raw(['p', ['t'], [SITE], Array.from({ length: 100_001 }, (_, i) => row(i % 60000)), 1, 0]))), 413, 'page_too_large'],
      ['oversized frame', call('POST', '/shop/changes', frames(header(), Buffer.from([0x7f, 0xff, 0xff, 0xff]), randomBytes(64))), 413, 'frame_too_large'],
      ['site not hex', call('GET', '/shop?site=zz'), 400, 'bad_request'],
      ['pull without site', call('GET', '/shop/changes'), 400, 'bad_request'],
      ['short site', call('GET', `/shop/changes?site=abcd`), 400, 'bad_request'],
      ['since not a number', call('GET', `/shop/changes?site=${SITE.toString('hex')}&since=abc`), 400, 'bad_request'],
      ['seq not an integer', call('GET', `/shop/changes?site=${SITE.toString('hex')}&seq=1e3`), 400, 'bad_request'],
      ['page size zero', call('GET', `/shop/changes?site=${SITE.toString('hex')}&pageSize=0`), 400, 'bad_request'],
      ['page size too large', call('GET', `/shop/changes?site=${SITE.toString('hex')}&pageSize=1000000`), 400, 'bad_request'],
      ['schema not JSON', call('POST', '/shop/schema', '{"tables":'), 400, 'bad_request'],
      ['schema default smuggling SQL', call('POST', '/shop/schema', schema('TEXT', "'a'); drop table t; --")), 400, 'bad_request'],
      ['schema body over 1 MiB', call('POST', '/shop/schema', 'x'.repeat(1024 * 1024 + 10)), 413, 'body_too_large'],
      ['schema that diverges', call('POST', '/shop/schema', schema('BLOB')), 409, 'schema_mismatch'],
      ['unknown method', call('PUT', '/shop'), 405, 'method_not_allowed'],
      ['unknown endpoint', call('GET', '/shop/nothing/here'), 404, 'not_found'],
    ];
    for (const [what, answer, status, code] of cases) {
      const a = await answer;
      expect({ what, status: a.status, type: a.type, code: a.json.error?.code }).toEqual({ what, status, type: 'application/json', code });
      expect(a.json.error!.message.length, what).toBeGreaterThan(0);
    }
    expect((await request(`${h.url}/v1/health`)).statusCode).toBe(200);
    expect(await state()).toEqual(before);
    // The same change, well formed, is accepted: the refusals above were about the requests.
    const good = await call('POST', '/shop/changes', whole);
    expect(good).toMatchObject({ status: 200, json: { received: 1, pages: 1 } });
    expect(await ok(['-d', hubFile, 'sql', 'select name from t where id = 99'])).toEqual([{ name: 'ninety-nine' }]);
  });

  it('dataset names that try to escape the folder are refused and nothing is created', async () => {
    const names = ['..%2F..%2Fetc', '..%2Fescape', '%2E%2E%2Fescape', '%2E%2E', 'a%2Fb', 'a%5Cb', '.hidden', '%00x', 'x'.repeat(129), '%ZZ', 'a..b', '-dash'];
    const before = readdirSync(tmp.path('hub')).sort();
    for (const name of names) {
      for (const [method, path, body] of [['GET', '', undefined], ['GET', '/changes?site=' + SITE.toString('hex'), undefined], ['POST', '/schema', schema('TEXT')], ['POST', '/changes', whole]] as const) {
        const a = await call(method, `/${name}${path}`, body);
        // "%2E%2E" is ".." to URL parsers: that path resolves elsewhere, to a 404.
        const expected = name === '%2E%2E' ? { status: 404, code: 'not_found' } : { status: 400, code: 'bad_request' };
        expect({ name, method, path, status: a.status, code: a.json.error?.code }).toEqual({ name, method, path, ...expected });
      }
    }
    expect(readdirSync(tmp.path('hub')).sort()).toEqual(before);
    expect(readdirSync(tmp.dir).sort()).toEqual(['a.db', 'hub']);
    expect(existsSync(resolve(tmp.dir, '..', 'escape.db'))).toBe(false);
    const add = await run(['-d', tmp.path('a.db'), 'remote', 'add', 'evil', `${h.url}/..%2F..%2Fetc`]);
    expect(add.exitCode).toBe(2);
    const clone = await run(['clone', `${h.url}/..%2Fescape`, tmp.path('evil.db')]);
    expect(clone.exitCode).toBe(2);
    expect(existsSync(tmp.path('evil.db'))).toBe(false);
  });

  it('a pull or clone of a missing dataset is a clear 404 error', async () => {
    const a = await call('GET', '/nope');
    expect(a).toMatchObject({ status: 404, json: { error: { code: 'dataset_not_found' } } });
    const clone = await run(['clone', `${h.url}/nope`, tmp.path('nope.db'), '--json']);
    expect(clone.exitCode).toBe(1);
    const err = (JSON.parse(clone.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(err.code).toBe('dataset_not_found');
    expect(err.message).toContain('no dataset named nope');
    expect(existsSync(tmp.path('nope.db'))).toBe(false);
    await ok(['-d', tmp.path('a.db'), 'remote', 'add', 'missing', `${h.url}/nope`]);
    const pull = await run(['-d', tmp.path('a.db'), 'pull', 'missing', '--json']);
    expect(pull.exitCode).toBe(1);
    expect(JSON.parse(pull.stdout)).toMatchObject({ error: { code: 'dataset_not_found' } });
    expect(existsSync(tmp.path('hub/nope.db'))).toBe(false);
  });
});
