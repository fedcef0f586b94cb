import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { crsync, crsyncJson, startHub, tempDir, type Hub } from '../helpers.js';
import type { RemoteStatus } from '../../src/sync/client/status.js';
import { ok, sql, sync, twoReplicas } from './conflicts-setup.js';

interface StatusJson {
  db: string;
  siteId: string;
  dbVersion: number;
  schema: { version: number; hash: string };
  tables: { name: string; rows: number }[];
  conflicts: number;
  remotes: RemoteStatus[];
  inSync: boolean;
}

async function status(db: string, ...args: string[]): Promise<{ exitCode: number; json: StatusJson }> {
  const r = await crsyncJson<StatusJson>(['-d', db, 'status', ...args]);
  expect(r.stderr).not.toMatch(/error/);
  return r;
}

describe('crsync status', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const setup = async (dataset: string): Promise<{ a: string; b: string; hub: Hub }> => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const hub = await startHub(t.path('hub'));
    cleanups.push(() => hub.stop());
    const { a, b } = await twoReplicas(t.path, { url: hub.url, dir: t.path('hub') }, dataset);
    return { a, b, hub };
  };

  it('shows unpushed and unpulled changes before a sync, none after, and conflicts; --exit-code follows', async () => {
    const { a, b, hub } = await setup('shop');
    await sql(a, "UPDATE items SET name = 'changed' WHERE id = 1; INSERT INTO items VALUES (10, 'new', 5)");

    const [sa, sb] = await Promise.all([status(a, '--exit-code'), status(b, '--exit-code')]);
    expect(sa.exitCode).toBe(6);
    expect(sa.json).toMatchObject({ db: a, conflicts: 0, inSync: false, tables: [{ name: 'items', rows: 4 }] });
    expect(sa.json.siteId).toMatch(/^[0-9a-f]{32}$/);
    expect(sa.json.schema.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof sa.json.schema.version).toBe('number');
    expect(sa.json.remotes).toHaveLength(1);
    const ra = sa.json.remotes[0]!;
    expect(ra).toMatchObject({ name: 'origin', url: `${hub.url}/shop`, reachable: true, unpulled: 0 });
    expect(ra.unpushed).toBeGreaterThanOrEqual(3);
    expect(ra.unpushedByTable).toEqual({ items: ra.unpushed });
    expect(ra.lastPush).not.toBeNull();
    expect(sb.exitCode).toBe(0);
    expect(sb.json.remotes[0]).toMatchObject({ reachable: true, unpushed: 0, unpulled: 0 });
    expect(sb.json.inSync).toBe(true);

    await sync(a);
    const [after, bBehind] = await Promise.all([status(a, '--exit-code'), status(b, '--exit-code')]);
    expect(after.exitCode).toBe(0);
    expect(after.json.remotes[0]).toMatchObject({ unpushed: 0, unpulled: 0 });
    expect(bBehind.exitCode).toBe(6);
    expect(bBehind.json.remotes[0]!.unpulled).toBe(ra.unpushed);
    await sync(b);
    expect((await status(b, '--exit-code')).exitCode).toBe(0);

    // An open conflict alone keeps a replica out of sync.
    await Promise.all([sql(a, "UPDATE items SET qty = 7 WHERE id = 2"), sql(b, "UPDATE items SET qty = 8 WHERE id = 2")]);
    await sync(a);
    await sync(b);
    const withConflict = await status(b, '--exit-code');
    expect(withConflict.exitCode).toBe(6);
    expect(withConflict.json).toMatchObject({ conflicts: 1, remotes: [{ unpushed: 0, unpulled: 0 }] });
    const human = await crsync(['-d', b, 'status']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/conflicts\s+1 open/);
    expect(human.stdout).toMatch(/not in sync/);
  });

  it('never fails because a remote is down or silent: unpulled is unknown, with a note', async () => {
    const { a, hub } = await setup('down');
    // A remote that accepts connections and never answers.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    cleanups.push(() => new Promise<void>((res) => (sockets.forEach((s) => s.destroy()), silent.close(() => res()))));
    const port = (silent.address() as { port: number }).port;
    await ok(['-d', a, 'remote', 'add', 'silent', `http://127.0.0.1:${port}/x`]);
    await hub.stop();

    const started = Date.now();
    const down = await status(a, '--exit-code');
    const ms = Date.now() - started;
    expect(ms).toBeLessThan(15_000);
    // Nothing unpushed, but what the remotes have is unknown: not known to be in sync.
    expect(down.exitCode).toBe(6);
    const byName = Object.fromEntries(down.json.remotes.map((r) => [r.name, r]));
    expect(byName.origin).toMatchObject({ reachable: false, unpulled: null, unpushed: 0 });
    expect(byName.origin!.note).toMatch(/cannot reach/);
    expect(byName.silent).toMatchObject({ reachable: false, unpulled: null, unpushed: 6 }); // never pushed: all of a's cells
    expect(byName.silent!.note).toMatch(/cannot reach .*timeout/);
    expect(byName.silent!.lastPull).toBeNull();

    const human = await crsync(['-d', a, 'status', 'origin']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/unpulled\s+unknown/);
    expect(human.stdout).not.toMatch(/silent/);

    // --offline asks nobody; only local facts decide --exit-code.
    const offline = await status(a, 'origin', '--offline', '--exit-code');
    expect(offline.exitCode).toBe(0);
    expect(offline.json.remotes).toEqual([expect.objectContaining({ name: 'origin', reachable: null, unpulled: null, note: 'not asked (--offline)' })]);
    await sql(a, "UPDATE items SET name = 'offline edit' WHERE id = 3");
    const dirty = await status(a, 'origin', '--offline', '--exit-code');
    expect(dirty.exitCode).toBe(6);
    expect(dirty.json.remotes[0]).toMatchObject({ unpushed: 1, unpushedByTable: { items: 1 } });

    const unknown = await crsync(['-d', a, 'status', 'nosuch']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/no remote named nosuch/);
  });
});
