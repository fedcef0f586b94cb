import { afterEach, describe, expect, it } from 'vitest';
import { listConflicts } from '../../src/db/conflicts/list.js';
import { readLog } from '../../src/db/log.js';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { resolveConflicts } from '../../src/db/conflicts/resolve.js';
import { runSql } from '../../src/db/sql.js';
import { withStore } from '../../src/db/store.js';
import { cloneReplica } from '../../src/sync/client/clone.js';
import { syncChanges } from '../../src/sync/client/engine.js';
import { replicaStatus } from '../../src/sync/client/status.js';
import { tempDir } from '../helpers.js';

// Two replicas syncing directly file to file (b's origin is a's file): no hub needed here.
describe('conflicts, resolve and log on real files', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  async function pair(): Promise<{ a: string; b: string; run: (db: string, sql: string) => ReturnType<typeof runSql>; sync: () => Promise<unknown> }> {
    const t = tempDir();
    dirs.push(t);
    const a = t.path('a.db');
    const b = t.path('b.db');
    initReplica(a);
    withStore(a, {}, (s) => {
      runSql(s.db, "CREATE TABLE doc (owner TEXT NOT NULL, n INTEGER NOT NULL, body BLOB, score REAL, PRIMARY KEY (owner, n)); INSERT INTO doc VALUES ('ann', 1, x'00ff', 1.5), ('bo', 2, NULL, 2.0)");
      trackTables(s, ['doc']);
    });
    await cloneReplica(a, b, { env: {} });
    return {
      a,
      b,
      run: (db, sql) => withStore(db, {}, (s) => runSql(s.db, sql)),
      sync: () => syncChanges({ dbPath: b, remote: 'origin', env: {} }),
    };
  }

  it('names composite keys and keeps blob and REAL values exact', async () => {
    const p = await pair();
    p.run(p.a, "UPDATE doc SET body = x'0a0b', score = 3.0 WHERE owner = 'ann'");
    p.run(p.b, "UPDATE doc SET body = x'0c', score = 2.5 WHERE owner = 'ann'");
    await p.sync();
    const list = withStore(p.b, {}, (s) => listConflicts(s.db));
    expect(list.map((c) => [c.pk, c.column, c.ours, c.theirs])).toEqual([
      [{ owner: 'ann', n: 1n }, 'body', { $blob: '0c' }, { $blob: '0a0b' }],
      [{ owner: 'ann', n: 1n }, 'score', 2.5, 3.0],
    ]);
    expect(list.every((c) => c.remote === 'origin' && !c.resolved)).toBe(true);
    // a recorded the blob pair while applying b's push (b won it: 0x0c > 0x0a0b), and b reported
    // the score pair it found on pull (b's 2.5 lost there, so it was never pushed).
    expect(withStore(p.a, {}, (s) => listConflicts(s.db)).map((c) => c.column)).toEqual(['body', 'score']);

    const score = list.find((c) => c.column === 'score')!;
    const body = list.find((c) => c.column === 'body')!;
    const r = withStore(p.b, {}, (s) =>
      resolveConflicts(s.db, [
        { id: score.id, choice: 'value', value: 4.0 },
        { id: body.id, choice: 'value', value: { $blob: 'beef' } },
      ]),
    );
    expect(r.written).toBe(2);
    await p.sync();
    for (const db of [p.a, p.b]) {
      const row = withStore(db, {}, (s) => runSql(s.db, "SELECT typeof(score), score, hex(body) FROM doc WHERE owner = 'ann'")).result!.rows;
      expect(row).toEqual([['real', 4, 'BEEF']]);
    }
    expect(withStore(p.a, {}, (s) => listConflicts(s.db))).toEqual([]);
  });

  it('rejects values that do not fit the conflict; a cell whose row is gone stays deleted', async () => {
    const p = await pair();
    p.run(p.a, "UPDATE doc SET score = 9.0 WHERE owner = 'bo'");
    p.run(p.b, "UPDATE doc SET score = 8.0 WHERE owner = 'bo'");
    await p.sync();
    const [c] = withStore(p.b, {}, (s) => listConflicts(s.db));
    const resolve = (value: unknown): unknown => withStore(p.b, {}, (s) => resolveConflicts(s.db, [{ id: c!.id, choice: 'value', value }]));
    expect(() => resolve({ score: 1 })).toThrow(/not an SQLite value/);
    expect(() => resolve([1])).toThrow(/not an SQLite value/);
    expect(() => withStore(p.b, {}, (s) => resolveConflicts(s.db, [{ id: 12345, choice: 'ours' }]))).toThrow(/no conflict with id 12345/);
    // Nothing was marked resolved by the failed attempts.
    expect(withStore(p.b, {}, (s) => listConflicts(s.db))).toHaveLength(1);
    // A row deleted since: the delete stands, the conflict is closed, nothing is written.
    p.run(p.b, "DELETE FROM doc WHERE owner = 'bo'");
    expect(resolve(1.0)).toMatchObject({ written: 0, resolved: [{ id: c!.id, written: false, rowDeleted: true }] });
    expect(withStore(p.b, {}, (s) => runSql(s.db, "SELECT count(*) FROM doc WHERE owner = 'bo'")).result!.rows).toEqual([[0n]]);
    expect(withStore(p.b, {}, (s) => listConflicts(s.db))).toEqual([]);
  });

  it('log lists transactions newest first, telling local writes from merges', async () => {
    const p = await pair();
    p.run(p.b, "INSERT INTO doc VALUES ('cy', 3, NULL, 0.5)");
    p.run(p.a, "UPDATE doc SET score = 7.0 WHERE owner = 'bo'");
    await p.sync();
    const log = withStore(p.b, {}, (s) => readLog(s.db, { limit: 10 }));
    const local = withStore(p.b, {}, (s) => s.db.prepare('SELECT hex(crsql_site_id())').pluck().get() as string).toLowerCase();
    expect(log[0]).toMatchObject({ source: 'origin', tables: { doc: 1 } });
    expect(log[0]!.siteId).not.toBe(local);
    expect(log[1]).toMatchObject({ source: 'local', siteId: local, tables: { doc: 1 } });
    expect(new Date(log[1]!.at!).toISOString()).toBe(log[1]!.at);
    expect(log.map((e) => e.dbVersion)).toEqual([...log.map((e) => e.dbVersion)].sort((x, y) => (x > y ? -1 : 1)));
    expect(withStore(p.b, {}, (s) => readLog(s.db, { limit: 1 }))).toHaveLength(1);
    // status counts with a file remote too
    const st = await replicaStatus({ dbPath: p.b, env: {} });
    expect(st).toMatchObject({ conflicts: 0, inSync: true, remotes: [{ reachable: true, unpushed: 0, unpulled: 0 }] });
  });
});
