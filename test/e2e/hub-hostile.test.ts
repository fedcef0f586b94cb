import { ExtData } from '@msgpack/msgpack';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeReplica, ok, rows, sql } from './sync-helpers.js';
import { PK1, call, codec, nameChange, pushBody, rawExchange, rawFrame, type Answer } from './hostile-helpers.js';
import { STORES, storeSandbox } from './store-helpers.js';
import { datasetNames, datasetState, sharedHub } from './store-state.js';

// Hostile requests to a hub with tokens and small limits: each gets a 4xx JSON error with a code,
// the dataset stays exactly as it was, and real clients are served all along, on either store.
// (Malformed frames, bad keys, unknown tables and path-escaping names: see sync-hub-requests.test.ts.)

const RW = 'rw-token-1';
const RO = 'ro-token-2';
const OTHER = 'other-token-3';
const MiB = 1024 * 1024;

const box = storeSandbox('crsync-hostile-');
const site = randomBytes(16);
const auth = (token = RW) => ({ authorization: `Bearer ${token}` });
const FRAMES = { 'content-type': 'application/vnd.crsync.frames+msgpack' };

/** What each store answered to the hostile bodies, to compare the two. */
const refusals = new Map<string, string[]>();

function expectRefused(what: string, a: Answer, status: number, code: string): void {
  expect({ what, status: a.status, type: a.headers['content-type'], code: a.json.error?.code }).toEqual({ what, status, type: 'application/json', code });
  expect(a.json.error!.message.length, what).toBeGreaterThan(0);
}

describe.each(STORES)('hostile requests to a hub on %s get a 4xx JSON error and change nothing', (kind) => {
  const shared = sharedHub(box, kind, 'crsync-hostile-', (path) => {
    writeFileSync(path('tokens'), `${RW} read-write\n${RO} read\n${OTHER} read-write other\n`);
    return ['--tokens', path('tokens'), '--max-value', '64KiB', '--max-frame', '2MiB', '--max-body', '4MiB', '--max-page', '1000'];
  });
  let base: string;
  const state = () => datasetState(shared.hub, 'shop');

  beforeAll(async () => {
    const a = shared.path('a.db');
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${shared.hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create'], { CRSYNC_TOKEN: RW });
    base = `${shared.hub.url}/v1/datasets`;
  }, 30_000);

  const push = (body: Buffer | string, headers: Record<string, string> = {}, token = RW) =>
    call(`${base}/shop/changes`, { method: 'POST', body, headers: { ...auth(token), ...FRAMES, ...headers } });

  it('bodies: garbage, JSON, wrong types, cut short, oversized, huge values, future cursors', async () => {
    const before = await state();
    const info = (await call(`${base}/shop?site=${site.toString('hex')}`, { headers: auth() })).json as { dbVersion: string; limits: Record<string, number> };
    // The hub tells clients its limits.
    expect(info.limits).toEqual({ maxBodyBytes: 4 * MiB, maxFrameBytes: 2 * MiB, maxPageSize: 1000, maxValueBytes: 64 * 1024 });
    const future = BigInt(info.dbVersion) + 1000n;
    const q = `site=${site.toString('hex')}`;
    const header = codec.encodeHeader({ site, schemaHash: 'x', seen: 0n });
    // Conflict frames that record nothing, padded to 1 MiB each: only the body's size is wrong.
    const padded = rawFrame(['c', [], 0, Buffer.alloc(MiB - 64)]);
    const cases: [string, Promise<Answer>, number, string][] = [
      ['garbage bytes', push(Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919 + 13) & 0xff))), 400, 'bad_stream'],
      ['text', push('GARBAGE!\r\n'), 400, 'bad_stream'],
      ['JSON sent as frames', push(JSON.stringify({ changes: [['t', 1, 'name', 'x']] })), 400, 'bad_stream'],
      ['JSON declared as JSON', push('{"changes":[]}', { 'content-type': 'application/json' }), 415, 'unsupported_media_type'],
      ['frames declared as text', push(pushBody(site, [nameChange(site)]), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
      ['schema declared as msgpack', call(`${base}/shop/schema`, { method: 'POST', body: '{}', headers: { ...auth(), ...FRAMES } }), 415, 'unsupported_media_type'],
      ['empty body', push(Buffer.alloc(0)), 400, 'truncated_stream'],
      ['header cut short', push(header.subarray(0, 10)), 400, 'truncated_stream'],
      ['first frame claims 4 GiB', push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])), 400, 'bad_stream'],
      ['a later frame claims 4 GiB', push(Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])])), 413, 'frame_too_large'],
      ['a frame over --max-frame', push(Buffer.concat([header, rawFrame(['c', [], 0, Buffer.alloc(2 * MiB)])])), 413, 'frame_too_large'],
      ['a body over --max-body (gzip bomb)', push(gzipSync(Buffer.concat([header, padded, padded, padded, padded, padded])), { 'content-encoding': 'gzip' }), 413, 'body_too_large'],
      ['a page over --max-page', push(pushBody(site, Array.from({ length: 1001 }, (_, i) => nameChange(site, 'x', Buffer.from([1, 0x11, i >> 8, i & 0xff]))))), 413, 'page_too_large'],
      ['a value over --max-value', push(pushBody(site, [nameChange(site, 'x'.repeat(64 * 1024 + 1))])), 413, 'value_too_large'],
      ['a blob over --max-value', push(pushBody(site, [nameChange(site, randomBytes(65 * 1024))])), 413, 'value_too_large'],
      ['a primary key over --max-value', push(pushBody(site, [nameChange(site, 'x', Buffer.concat([PK1, randomBytes(65 * 1024)]))])), 413, 'value_too_large'],
      ['a clock near 2^63 (would leave every replica unable to write)', push(pushBody(site, [['t', PK1, 'name', 'x', 2n ** 63n - 1n, 2n ** 63n - 1n, site, 1n, 0n]])), 400, 'bad_change'],
      ['a db_version over 2^53', push(pushBody(site, [['t', PK1, 'name', 'x', 1n, 2n ** 53n, site, 1n, 0n]])), 400, 'bad_change'],
      ['a primary key with trailing bytes', push(pushBody(site, [nameChange(site, 'x', Buffer.concat([PK1, Buffer.from([7])]))])), 400, 'bad_change'],
      ['a two-column key for a one-column table', push(pushBody(site, [nameChange(site, 'x', Buffer.from('0209630901', 'hex'))])), 400, 'bad_change'],
      ['a short site id in a change', push(pushBody(site, [['t', PK1, 'name', 'x', 1n, 1n, Buffer.alloc(3, 1), 1n, 0n]])), 400, 'bad_change'],
      ['an unknown table', push(pushBody(site, [['nope', PK1, 'name', 'x', 1n, 1n, site, 1n, 0n]])), 409, 'unknown_table'],
      ['an unknown column after a good change', push(pushBody(site, [nameChange(site), ['t', PK1, 'nope', 'x', 1n, 1n, site, 1n, 0n]])), 409, 'unknown_column'],
      ['a table name carrying SQL', push(pushBody(site, [['t"; DROP TABLE crsync_cells; --', PK1, 'name', 'x', 1n, 1n, site, 1n, 0n]])), 409, 'unknown_table'],
      ["a column name carrying SQL", push(pushBody(site, [['t', PK1, "name' OR '1'='1", 'x', 1n, 1n, site, 1n, 0n]])), 409, 'unknown_column'],
      ['a REAL that is not 8 bytes', push(Buffer.concat([header, rawFrame(['p', ['t'], [site], [[0, PK1, 'name', new ExtData(1, new Uint8Array(3)), 1, 1, 0, 1, 0]], 1, 0])])), 400, 'bad_stream'],
      ['push that claims to have seen the future', push(pushBody(site, [nameChange(site)], future)), 400, 'cursor_ahead'],
      ['pull from the future', call(`${base}/shop/changes?${q}&since=${future}`, { headers: auth() }), 400, 'cursor_ahead'],
      ['count from the future', call(`${base}/shop/changes?${q}&since=${future}&count=1`, { headers: auth() }), 400, 'cursor_ahead'],
      ['a GET with a body', call(`${base}/shop?${q}`, { method: 'GET', body: 'hello', headers: auth() }), 400, 'bad_request'],
    ];
    const seen: string[] = [];
    for (const [what, answer, status, code] of cases) {
      const a = await answer;
      expectRefused(what, a, status, code);
      seen.push(`${what}: ${a.status} ${a.json.error!.code} ${a.json.error!.message} (${a.json.error!.hint ?? ''})`);
    }
    refusals.set(kind, seen);
    expect(await state()).toEqual(before);
    // A value at the limit is fine: the refusals were about the limits.
    const atLimit = await push(pushBody(site, [nameChange(site, 'y'.repeat(64 * 1024))]));
    expect(atLimit).toMatchObject({ status: 200, json: { received: 1 } });
  });

  it('tokens: missing, unknown, malformed, read-only and for another dataset', async () => {
    const before = await state();
    const body = pushBody(site, [nameChange(site, 'by a thief')]);
    const cases: [string, Promise<Answer>, number, string][] = [
      ['no token', call(`${base}/shop`), 401, 'unauthenticated'],
      ['no token, missing dataset', call(`${base}/nope`), 401, 'unauthenticated'],
      ['unknown token', call(`${base}/shop`, { headers: auth('guess') }), 401, 'unauthenticated'],
      ['not a bearer token', call(`${base}/shop`, { headers: { authorization: `Basic ${Buffer.from(`x:${RW}`).toString('base64')}` } }), 401, 'unauthenticated'],
      ['a very long token', call(`${base}/shop`, { headers: auth('t'.repeat(8000)) }), 401, 'unauthenticated'],
      ['read-only push', push(body, {}, RO), 403, 'forbidden'],
      ['read-only schema change', call(`${base}/shop/schema`, { method: 'POST', body: '{}', headers: { ...auth(RO), 'content-type': 'application/json' } }), 403, 'forbidden'],
      ['read-only creating a dataset', call(`${base}/fresh/schema`, { method: 'POST', body: '{}', headers: auth(RO) }), 403, 'forbidden'],
      ['token for another dataset', call(`${base}/shop`, { headers: auth(OTHER) }), 403, 'forbidden'],
      ['token for another dataset, push', push(body, {}, OTHER), 403, 'forbidden'],
    ];
    for (const [what, answer, status, code] of cases) expectRefused(what, await answer, status, code);
    expect((await call(`${base}/shop`, { headers: auth(RO) })).status).toBe(200);
    expect(await state()).toEqual(before);
    expect(await datasetNames(shared.hub)).toEqual(['shop']);
  });

  it('after all that, real clients push and pull as usual', async () => {
    const a = shared.path('a.db');
    const b = shared.path('b.db');
    await ok(['clone', `${shared.hub.url}/shop`, b], { CRSYNC_TOKEN: RO });
    await sql(a, "update t set name = 'changed' where id = 2");
    expect((await ok(['-d', a, 'sync'], { CRSYNC_TOKEN: RW })).sent).toBeGreaterThan(0);
    expect((await ok(['-d', b, 'pull'], { CRSYNC_TOKEN: RO })).received).toBeGreaterThan(0);
    expect(await rows(b)).toEqual(await rows(a));
  });
});

describe('both stores refuse alike', () => {
  it('the same status, code, message and hint for every hostile body', () => {
    expect(refusals.get('postgres')).toEqual(refusals.get('sqlite'));
    expect(refusals.get('sqlite')?.length).toBeGreaterThan(20);
  });
});

// HTTP parsing happens before any store is involved: one store is enough.
describe('broken HTTP to a hub gets a 4xx JSON error', () => {
  const shared = sharedHub(box, 'sqlite', 'crsync-hostile-http-');
  it('broken HTTP: oversized headers and a request line that is not HTTP', async () => {
    const big = await rawExchange(shared.hub.url, `GET /v1/health HTTP/1.1\r\nhost: hub\r\nx-pad: ${'p'.repeat(20_000)}\r\n\r\n`);
    expect({ status: big.status, code: big.json?.error?.code, closed: big.closed }).toEqual({ status: 431, code: 'headers_too_large', closed: true });
    const junk = await rawExchange(shared.hub.url, 'HELLO HUB\r\n\r\n');
    expect({ status: junk.status, code: junk.json?.error?.code, closed: junk.closed }).toEqual({ status: 400, code: 'bad_request', closed: true });
  });
});
