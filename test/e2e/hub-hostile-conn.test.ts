import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { call, rawExchange } from './hostile-helpers.js';
import { makeReplica, ok, sandbox, sql } from './sync-helpers.js';

// Connections that send nothing or trickle, from one address, cannot lock others out (issue 14,
// item 6): each client address holds at most --max-client-connections, and every connection must
// deliver a request within the headers timeout whether or not it sent a byte. SQLite store only:
// connections and the memory budget are the hub's, above the store (a pull's pages are reserved
// before the store reads them); a pull that stops reading on PostgreSQL: hub-limits.test.ts.

const tmp = sandbox('crsync-hostile-conn-');

/** Opens `n` TCP connections to the hub from `from` (another loopback address is another client). */
async function openMany(url: string, n: number, from: string): Promise<{ sockets: Socket[]; open: () => number }> {
  const { hostname, port } = new URL(url);
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((done) => {
        const s = connect({ port: Number(port), host: hostname, localAddress: from });
        s.on('connect', () => done());
        s.on('error', () => done());
        s.on('close', () => {
          closed.add(s);
          done();
        });
        s.on('data', () => {});
        sockets.push(s);
      }),
    ),
  );
  return { sockets, open: () => sockets.length - closed.size };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idle and trickling connections cannot lock a hub', () => {
  it('600 idle connections from one address: others are served; the hub closes them after the headers timeout', async () => {
    const h = await tmp.hub('hub', ['--headers-timeout', '2s']);
    const a = tmp.path('a.db');
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01')");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    const started = Date.now();
    const idle = await openMany(h.url, 600, '127.0.0.2');
    await sleep(300);
    // Beyond its 128 (the default per-client cap) the hub closed them at once.
    expect(idle.open()).toBeLessThanOrEqual(128);
    // Another client is served as usual (it was 503 busy, and pulls exited 3).
    expect((await call(`${h.url}/v1/health`)).status).toBe(200);
    expect((await ok(['-d', a, 'pull'])).received).toBe(0);
    // Connections that never sent a byte are closed by the headers timeout (2 s), not held for ever.
    while (idle.open() > 0 && Date.now() - started < 15_000) await sleep(100);
    expect(idle.open()).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(1500);
    for (const s of idle.sockets) s.destroy();
  });

  it('a connection that sends nothing gets a 408 after the headers timeout; slowloris clients are cut too', async () => {
    const h = await tmp.hub('hub', ['--headers-timeout', '1s', '--max-client-connections', '20']);
    const started = Date.now();
    const silent = rawExchange(h.url, '');
    // 40 trickling clients from one address (one header byte every 200 ms): 20 are closed at
    // once, the others by the headers timeout.
    const drip = [...Buffer.from('host: hub\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n')].map((b) => Buffer.from([b]));
    const slow = Array.from({ length: 40 }, () => rawExchange(h.url, 'GET /v1/health HTTP/1.1\r\n', drip, 200, 15_000, '127.0.0.3'));
    expect((await call(`${h.url}/v1/health`)).status).toBe(200);
    const s = await silent;
    expect({ status: s.status, code: s.json?.error?.code, closed: s.closed }).toEqual({ status: 408, code: 'request_timeout', closed: true });
    const cut = await Promise.all(slow);
    expect(cut.every((r) => r.closed && r.status !== 200)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

/** A pull over a raw socket that reads only its first bytes, then nothing: its status line. */
function stuckPull(url: string, path: string): { socket: Socket; status: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(`GET ${path} HTTP/1.1\r\nhost: hub\r\n\r\n`);
  const status = new Promise<string>((done) => {
    socket.once('data', (c: Buffer) => {
      socket.pause();
      done(c.subarray(0, 200).toString('latin1'));
    });
    socket.once('close', () => done('closed'));
  });
  return { socket, status };
}

describe('memory is budgeted across requests', () => {
  it('20 pulls of 24 MB pages that stop reading: beyond --max-memory they get 503 busy; the hub stays small and answers', async () => {
    const h = await tmp.hub('hub', ['--max-memory', '64MiB', '--max-frame', '32MiB', '--idle-timeout', '20s']);
    const a = tmp.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 3000)
      insert into t (id, name, qty) select i, hex(randomblob(4000)), i from s`);
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/big`]);
    await ok(['-d', a, 'push', '--create']);
    const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${h.proc.pid}/status`, 'utf8'))![1]) / 1024;
    const before = peakMiB();
    const pulls = Array.from({ length: 20 }, () => stuckPull(h.url, `/v1/datasets/big/changes?since=0&seq=-1&site=${randomBytes(16).toString('hex')}&pageSize=100000`));
    const statuses = await Promise.all(pulls.map((p) => p.status));
    const busy = statuses.filter((s) => s.startsWith('HTTP/1.1 503'));
    const served = statuses.filter((s) => s.startsWith('HTTP/1.1 200'));
    expect(served.length).toBeGreaterThan(0);
    expect(busy.length).toBeGreaterThanOrEqual(10);
    expect(busy.every((s) => /retry-after: 1/i.test(s))).toBe(true);
    expect((await call(`${h.url}/v1/health`)).status).toBe(200);
    // Each served pull holds one 24 MB page (and its rows); without the budget all 20 did.
    expect(peakMiB() - before).toBeLessThan(300);
    for (const p of pulls) p.socket.destroy();
    await sleep(200);
    // Once they are gone the budget is free again: a real pull of the whole dataset works.
    const b = tmp.path('b.db');
    await ok(['clone', `${h.url}/big`, b]);
  });
});
