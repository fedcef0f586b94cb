import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers.js';
import { call, codec, pushHead, rawExchange } from './hostile-helpers.js';
import { bulkInsert, makeReplica, ok, run, sql } from './sync-helpers.js';
import { STORES, pgQuery, storeSandbox, type StoreKind } from './store-helpers.js';
import { datasetState, hubRowCount } from './store-state.js';

// Slow clients are cut off with a JSON 408 (timeouts set small through the new options), a fast
// long push is not, connections over the limit get 503 busy, and the limits come from options or
// CRSYNC_SERVE_* variables with clear errors for bad values. A long push and a pull that stops
// reading hold the store's resources (a PostgreSQL connection, a transaction) and run on both
// stores; the rest is settled above the store.

const tmp = storeSandbox('crsync-limits-');
const FAST = ['--headers-timeout', '1s', '--idle-timeout', '1s', '--min-rate', '1KiB'];

/** A hub with dataset `shop` (200 rows) pushed by a.db; returns the hub and a look at the dataset's state. */
async function hubWithShop(extra: string[] = FAST, kind: StoreKind = 'sqlite') {
  const h = await tmp.hub(kind, { extra });
  const a = tmp.path('a.db');
  await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
  await sql(a, bulkInsert(200));
  await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  return { h, a, state: () => datasetState(h, 'shop') };
}

describe('slow clients are cut off; busy hubs say so; limits are configurable', () => {
  it('trickled headers, a trickled body and a stalled body get 408 while others are served', async () => {
    const { h, a, state } = await hubWithShop();
    const before = await state();
    const path = '/v1/datasets/shop/changes';
    const header = codec.encodeHeader({ site: randomBytes(16), schemaHash: 'x', seen: 0n });
    const drip = (s: Buffer | string) => [...Buffer.from(s)].map((b) => Buffer.from([b]));
    // Headers one byte per 100 ms: cut by the headers timeout.
    const slowHead = rawExchange(h.url, 'POST /v1/datasets/shop/changes HTTP/1.1\r\n', drip('host: hub\r\nx-slow: ' + 'a'.repeat(200)), 100);
    // A body one byte per 100 ms (10 bytes/s against 1 KiB/s): cut by the minimum rate,
    // though it is never silent for the idle timeout.
    const slowBody = rawExchange(h.url, pushHead(path, 100_000), drip(header.toString('latin1') + 'x'.repeat(200)), 100);
    // Part of a frame, then nothing: cut by the idle timeout.
    const stalled = rawExchange(h.url, Buffer.concat([Buffer.from(pushHead(path, 100_000)), header.subarray(0, 20)]));
    // Meanwhile a real client is served.
    expect((await ok(['-d', a, 'pull'])).received).toBe(0);
    for (const [what, r] of [['slow headers', await slowHead], ['slow body', await slowBody], ['stalled body', await stalled]] as const) {
      expect({ what, status: r.status, code: r.json?.error?.code, closed: r.closed }).toEqual({ what, status: 408, code: 'request_timeout', closed: true });
    }
    expect(await state()).toEqual(before);
  });

  it.each(STORES)('a long push at full speed is never cut off by the small timeouts (%s)', async (kind) => {
    const { h, a } = await hubWithShop(FAST, kind);
    await sql(a, bulkInsert(20_000, 1000));
    const r = await ok(['-d', a, 'push', '--page-size', '500']);
    expect(r.sent).toBe(40_000);
    expect(await hubRowCount(h, 'shop', 't')).toBe(20_200);
    expect((await call(`${h.url}/v1/health`)).status).toBe(200);
  });

  it.each(STORES)('a pull client that stops reading is cut off after the idle timeout; a shorter pause gets it all (%s)', async (kind) => {
    const h = await tmp.hub(kind, { extra: FAST });
    const a = tmp.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    // ~24 MB of changes: far more than loopback socket buffers hold for a client that reads nothing.
    await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 3000)
      insert into t (id, name, qty) select i, hex(randomblob(4000)), i from s`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/big`]);
    await ok(['-d', a, 'push', '--create']);
    const path = `/v1/datasets/big/changes?since=0&seq=-1&site=${randomBytes(16).toString('hex')}&pageSize=100`;
    const [stalled, paused] = await Promise.all([pausedPull(h.url, path, 3000), pausedPull(h.url, path, 300)]);
    expect({ status: paused.status, complete: paused.complete }).toEqual({ status: 200, complete: true });
    expect(paused.bytes).toBeGreaterThan(24_000_000);
    expect({ status: stalled.status, complete: stalled.complete }).toEqual({ status: 200, complete: false });
    expect(stalled.bytes).toBeLessThan(paused.bytes);
    // The pull cut off holds nothing of the store any more (on PostgreSQL: no transaction left open).
    if ('postgres' in h.store) {
      const held = await pgQuery(h.store.postgres, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'crsync-hub' AND state LIKE 'idle in transaction%'");
      expect(Number(held[0]!.n)).toBe(0);
    }
    // The hub goes on serving.
    expect((await ok(['-d', a, 'pull'])).received).toBe(0);
  });

  it('a refused body is read to its end, so the answer arrives and the connection stays usable; an endless one is cut', async () => {
    const { h, state } = await hubWithShop();
    const before = await state();
    const port = Number(new URL(h.url).port);
    // 2 MB of body sent at once behind headers the hub refuses (415) before reading any of it.
    const body = Buffer.alloc(2_000_000, 0x61);
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let reset = false;
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('error', () => (reset = true));
    socket.write(`POST /v1/datasets/shop/changes HTTP/1.1\r\nhost: hub\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n`);
    socket.write(body);
    await waitFor(() => Buffer.concat(got).includes('unsupported_media_type'));
    // The same connection then serves another request.
    socket.write('GET /v1/health HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n');
    await waitFor(() => socket.closed).finally(() => socket.destroy());
    const text = Buffer.concat(got).toString('latin1');
    expect({ reset, first: text.slice(0, 12), answers: text.match(/HTTP\/1\.1 \d{3}/g) }).toEqual({ reset: false, first: 'HTTP/1.1 415', answers: ['HTTP/1.1 415', 'HTTP/1.1 200'] });
    // A refused body that never ends is cut off (here by the 1 s idle timeout) without waiting for it.
    const endless = await rawExchange(h.url, 'POST /v1/datasets/shop/changes HTTP/1.1\r\nhost: hub\r\ncontent-type: text/plain\r\ncontent-length: 100000000\r\n\r\n' + 'a'.repeat(10_000));
    expect({ status: endless.status, closed: endless.closed }).toEqual({ status: 415, closed: true });
    expect(await state()).toEqual(before);
  });

  it('connections over --max-connections (set by env) get 503 busy with Retry-After', async () => {
    const h = await tmp.hub('sqlite');
    // The limits also come from CRSYNC_SERVE_* variables (the sandbox hub takes no env: start one here).
    const env = await startHub(tmp.path('hub2'), [], { CRSYNC_SERVE_MAX_CONNECTIONS: '2', CRSYNC_SERVE_MAX_PAGE: '777' });
    try {
      const held: Socket[] = [];
      for (let i = 0; i < 2; i++) {
        const s = connect(Number(new URL(env.url).port), '127.0.0.1');
        await once(s, 'connect');
        held.push(s);
      }
      const busy = await rawExchange(env.url, 'GET /v1/health HTTP/1.1\r\nhost: hub\r\n\r\n');
      expect({ status: busy.status, code: busy.json?.error?.code, closed: busy.closed }).toEqual({ status: 503, code: 'busy', closed: true });
      expect(busy.text.toLowerCase()).toContain('retry-after: 1');
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const b = tmp.path('b.db');
      await makeReplica(b, 'create table t (id integer primary key not null, name text, qty integer)');
      await sql(b, bulkInsert(1000));
      await ok(['-d', b, 'remote', 'add', 'origin', `${env.url}/fresh`]);
      // 2000 changes: the client keeps its pages within the hub's 777 (it would send 2000).
      expect((await ok(['-d', b, 'push', '--create'])).sent).toBe(2000);
      const info = await call(`${env.url}/v1/datasets/fresh`);
      expect(info.json.limits).toMatchObject({ maxPageSize: 777 });
    } finally {
      await env.stop();
    }
    expect((await call(`${h.url}/v1/health`)).status).toBe(200);
  });

  it('bad limit values are usage errors (exit 2) with a hint, and no hub starts', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--idle-timeout', '30'], {}, '--idle-timeout'],
      [['--max-body', 'lots'], {}, '--max-body'],
      [['--max-connections', '0'], {}, '--max-connections'],
      [['--max-value', '128MiB'], {}, '--max-value'],
      [['--max-page', '200000'], {}, '--max-page'],
      [[], { CRSYNC_SERVE_MIN_RATE: '-5' }, 'CRSYNC_SERVE_MIN_RATE'],
    ];
    for (const [args, env, name] of cases) {
      const r = await run(['serve', '--dir', tmp.path('never'), '--port', '0', ...args, '--json'], env);
      const err = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string } }).error;
      expect({ args, exit: r.exitCode, code: err.code }).toEqual({ args, exit: 2, code: 'usage' });
      expect(err.message).toContain(name);
    }
  });
});

/**
 * A raw pull that reads nothing for `pauseMs`, then reads to the end: whether the stream ended
 * with the chunked terminator (complete) or the hub cut it off, and how many bytes came.
 */
function pausedPull(url: string, path: string, pauseMs: number): Promise<{ status: number | undefined; complete: boolean; bytes: number }> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1');
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  setTimeout(() => socket.resume(), pauseMs);
  return new Promise((done) => {
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(all.subarray(0, 20).toString('latin1'))?.[1];
      done({ status: status ? Number(status) : undefined, complete: all.subarray(-5).toString('latin1') === '0\r\n\r\n', bytes: all.length });
    });
  });
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
