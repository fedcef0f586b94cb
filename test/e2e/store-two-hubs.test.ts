import { describe, expect, it } from 'vitest';
import { expectQuiet, expectSameRows, makeReplica, ok, rows, runJson, sql } from './sync-helpers.js';
import { startWatcher, within } from './live-helpers.js';
import { getJson, pgQuery, storeSandbox } from './store-helpers.js';

// Several hub processes on one PostgreSQL database serve the same datasets at once.
const box = storeSandbox('crsync-twohubs-');

describe('two hubs on one PostgreSQL database', () => {
  it('replicas spread over both push one dataset at once and converge; a watcher on hub B sees a push to hub A', async () => {
    const url = await box.database();
    const [h1, h2] = [await box.hub('postgres', { url }), await box.hub('postgres', { url })];
    const hubs = [h1, h2];
    const dbs = [0, 1, 2].map((i) => box.path(`r${i}.db`));
    await makeReplica(dbs[0]!, 'create table t (id integer primary key not null, name text, qty integer)');
    await ok(['-d', dbs[0]!, 'remote', 'add', 'origin', `${h1.url}/shared`]);
    await ok(['-d', dbs[0]!, 'push', '--create']);
    for (let i = 1; i < dbs.length; i++) await ok(['clone', `${hubs[i % 2]!.url}/shared`, dbs[i]!]);
    // Every replica writes its own rows and one shared row, then all push at once, half through each hub.
    await Promise.all(dbs.map((db, i) => sql(db, `insert into t values (${100 + i}, 'r${i}', ${i}), (1, 'from r${i}', ${i}) on conflict (id) do update set name = excluded.name, qty = excluded.qty`)));
    const pushes = await Promise.all(dbs.map((db) => runJson(['-d', db, 'push', '--page-size', '1'])));
    for (const p of pushes) expect(p.exitCode, JSON.stringify(p.json)).toBe(0);
    // Versions were assigned one at a time across both processes: one per page that changed something, no gap.
    const [v] = (await pgQuery(url, 'SELECT d.version::int AS version, (SELECT count(DISTINCT db_version)::int FROM crsync_cells c WHERE c.dataset = d.id) AS used FROM crsync_datasets d')) as { version: number; used: number }[];
    expect((await getJson(`${h2.url}/v1/datasets/shared`)).dbVersion).toBe(String(v!.version));
    expect(v!.used).toBeLessThanOrEqual(v!.version);
    // Everything was pushed: pulls through either hub bring every replica the rest.
    for (const db of dbs) await ok(['-d', db, 'pull']);
    const all = await expectSameRows(dbs);
    expect(all).toHaveLength(4);
    await expectQuiet(dbs);

    // Live: a watcher on hub B (r1 cloned through it), a push through hub A.
    const watched = dbs[1]!;
    const w = startWatcher(watched);
    await w.next((e) => e.state === 'live');
    await sql(dbs[0]!, "insert into t values (500, 'live', 5)");
    const started = Date.now();
    await ok(['-d', dbs[0]!, 'push']);
    await within(5000, async () => (await rows(watched, 'select id from t where id = 500')).length === 1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await w.stop('SIGTERM')).exitCode).toBe(0);
  });
});
