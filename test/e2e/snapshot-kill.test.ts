import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../helpers.js';
import { makeReplica, ok, rows, runJson, sandbox, sql } from './sync-helpers.js';

const box = sandbox('crsync-snapshot-kill-');

const CHANGES = `SELECT "table" AS tbl, hex(pk) AS pk, cid, val, col_version, cl, hex(site_id) AS site
  FROM crsql_changes ORDER BY tbl, pk, cid`;

/** How many bytes of a snapshot answer the proxy passes on before it holds the rest back. */
const HELD_AFTER = 64 * 1024;

/** True when the file starts like a SQLite database (what could pass for a replica). */
function looksLikeSqlite(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    return head.toString('latin1') === 'SQLite format 3\0';
  } finally {
    closeSync(fd);
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('a hub killed mid-snapshot', () => {
  let proxy: Server | undefined;
  let hub: Hub | undefined;
  afterEach(async () => {
    proxy?.closeAllConnections();
    if (proxy) await new Promise((r) => proxy!.close(r));
    await hub?.stop('SIGKILL');
    proxy = hub = undefined;
  });

  /** A proxy to the hub that holds a snapshot answer back after HELD_AFTER bytes while `hold` is set; `held` resolves then. */
  async function holdingProxy(port: number, state: { hold: boolean; held?: () => void; cut?: () => void }): Promise<string> {
    proxy = createServer((req, res) => {
      const up = request({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode!, upRes.headers);
        const snapshot = req.url?.endsWith('/snapshot') === true && state.hold;
        let passed = 0;
        upRes.on('data', (c: Buffer) => {
          if (!snapshot) return void res.write(c);
          const room = HELD_AFTER - passed;
          if (room > 0) res.write(c.subarray(0, room));
          passed += c.length;
          if (passed >= HELD_AFTER) {
            upRes.pause();
            // A paused socket may not see the hub's FIN (only a reset): the test cuts it itself.
            state.cut = () => res.destroy();
            state.held?.();
          }
        });
        upRes.on('end', () => res.end());
        // A paused answer may never end: the hub's socket closing is what says it died.
        upRes.socket.once('close', () => res.destroy());
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/shop`;
  }

  it('leaves no file that looks like a replica, and the rerun of the clone ends with a correct one', async () => {
    const port = await freePort();
    const dir = box.path('hub');
    hub = await startHub(dir, ['--port', String(port)]);
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 4000) insert into t (id, name, data) select i, 'row ' || i, randomblob(64) from s`);
    await ok(['-d', a, 'remote', 'add', 'origin', `http://127.0.0.1:${port}/shop`]);
    await ok(['-d', a, 'push', '--create', '--no-snapshot']);

    const state: { hold: boolean; held?: () => void; cut?: () => void } = { hold: true };
    const url = await holdingProxy(port, state);
    const held = new Promise<void>((r) => (state.held = r));
    const s = box.path('s.db');
    const clone = runJson<{ error: { code: string } }>(['clone', url, s]);
    await held;
    // The hub had made its snapshot file; it dies with the download half done.
    expect(readdirSync(dir).some((f) => f.startsWith('.snapshot-'))).toBe(true);
    await hub.stop('SIGKILL');
    // What the network would do once the hub's end of the connection is gone.
    state.cut?.();
    const started = Date.now();
    const cut = await clone;
    // The cut is seen at once (the client retries, then stops), not after an idle timeout.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(cut.exitCode).not.toBe(0);
    expect(existsSync(s)).toBe(false);
    const left = readdirSync(box.dir).filter((f) => f.startsWith('s.db'));
    expect(left.length).toBeGreaterThan(0);
    for (const f of left) expect({ f, sqlite: looksLikeSqlite(box.path(f)) }).toEqual({ f, sqlite: false });

    // The same hub, restarted on the same port, sweeps what its killed run left; the rerun completes.
    hub = await startHub(dir, ['--port', String(port)]);
    expect(readdirSync(dir).filter((f) => f.startsWith('.snapshot-'))).toEqual([]);
    state.hold = false;
    const done = await ok<{ via: string; received: number }>(['clone', url, s]);
    expect(done.via).toBe('snapshot');
    const c = box.path('c.db');
    await ok(['clone', '--no-snapshot', `http://127.0.0.1:${port}/shop`, c]);
    expect(await rows(s, CHANGES)).toEqual(await rows(c, CHANGES));
    expect(readdirSync(box.dir).filter((f) => f.startsWith('s.db'))).toEqual(['s.db']);
    // And it is a replica of its own that syncs.
    await sql(s, `update t set name = 'after' where id = 1`);
    expect(await ok(['-d', s, 'sync'])).toMatchObject({ sent: 1, received: 0 });
    expect(await ok(['-d', a, 'pull'])).toMatchObject({ received: 1 });
  }, 180_000);
});
