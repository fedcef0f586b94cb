import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bulkInsert, expectQuiet, expectSameRows, makeReplica, ok, peek, sandbox, spawnCli, sql, waitFor, type TransferJson } from './sync-helpers.js';

const tmp = sandbox('crsync-hub-');

describe('the hub process', () => {
  it('serves many clients at once, and they converge', async () => {
    const h = await tmp.hub();
    const dbs = ['a', 'b', 'c', 'd'].map((n) => tmp.path(`${n}.db`));
    const [a, ...others] = dbs as [string, ...string[]];
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.0, null), (2, 'two', 2, 2.0, null)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/many`]);
    await ok(['-d', a, 'push', '--create']);
    await Promise.all(others.map((db) => ok(['clone', `${h.url}/many`, db])));
    // Each writes its own rows and all of them the same cell.
    await Promise.all(
      dbs.map((db, i) => sql(db, `insert into t values (${10 + i}, 'from ${i}', ${i}, ${i}.5, x'0${i}'); update t set name = 'by ${i}' where id = 1`)),
    );
    const synced = await Promise.all(dbs.map((db) => ok(['-d', db, 'sync'])));
    // Each sent at least its own row (its update of row 1 may already have lost to a pulled one).
    for (const r of synced) expect(r.sent).toBeGreaterThanOrEqual(4);
    await Promise.all(dbs.map((db) => ok(['-d', db, 'pull'])));
    const expected = await expectSameRows([a, ...others, tmp.path('hub/many.db')]);
    expect(expected).toHaveLength(6);
    // Same col_version everywhere: the greatest value wins.
    expect(expected[0]).toMatchObject({ id: 1, name: 'by 3' });
    await expectQuiet(dbs);
  });

  it('SIGTERM lets a push in flight finish, closes every dataset and exits 0', async () => {
    const h = await tmp.hub();
    const a = tmp.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await sql(a, bulkInsert(30_000));
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/big`]);
    const hubFile = tmp.path('hub/big.db');
    const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', '--page-size', '500']);
    await waitFor(() => ((peek(hubFile, 'select max(recv_version) from crsync_peers') as number | null) ?? 0) > 0);
    expect(await h.stop('SIGTERM')).toBe(0);
    const pushed = await push;
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect((JSON.parse(pushed.stdout) as TransferJson).sent).toBe(60_000);
    // Finalized and closed: SQLite folded the WAL back into the file and removed it.
    expect(existsSync(`${hubFile}-wal`)).toBe(false);
    expect(await ok(['-d', hubFile, 'sql', 'select count(*) as n from crsql_changes'])).toEqual([{ n: 60_000 }]);

    // A new hub on the same folder has it all; an idle hub stops on SIGINT with 0 too.
    const again = await tmp.hub();
    const b = tmp.path('b.db');
    expect((await ok(['clone', `${again.url}/big`, b])).received).toBe(60_000);
    expect(await again.stop('SIGINT')).toBe(0);
  });
});
