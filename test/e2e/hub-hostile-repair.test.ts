import Database from 'better-sqlite3';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startHub } from '../helpers.js';
import { makeReplica, ok, rows, run, runJson, sandbox, sql } from './sync-helpers.js';

// A dataset bricked by clocks an older hub accepted (issue 14, items 1 and 5) is repaired by
// `crsync serve --repair <dataset>`, after which clients clone it again and work. SQLite only:
// the repair rewrites a dataset file, and no hub on PostgreSQL ever took such clocks (both stores
// refuse them before merging: hub-hostile-input.test.ts runs that on both).

const tmp = sandbox('crsync-hostile-repair-');
const EXT = resolve(import.meta.dirname, '../../native/crsqlite');

/** Does to a dataset file what one forged change did under older versions: clocks at 2^53 - 1, then past it. */
function brick(file: string): void {
  const db = new Database(file);
  db.loadExtension(EXT);
  db.defaultSafeIntegers(true);
  const pk = db.prepare('select pk from crsql_changes where cid = ? limit 1').pluck().get('name') as Buffer;
  const site = Buffer.alloc(16, 7);
  const top = 2n ** 53n - 1n;
  db.prepare('insert into crsql_changes values (?, ?, ?, ?, ?, ?, ?, ?, ?)').run('t', pk, 'qty', 42n, top, top, site, 1n, 0n);
  // The next write takes the hub past 2^53 - 1.
  db.exec("update t set name = 'past the ceiling' where id = 2");
  db.prepare('select crsql_finalize()').run();
  db.close();
}

describe('crsync serve --repair', () => {
  it('renumbers a version dragged past 2^53 and lowers clocks at the ceiling; clones and pushes work again', async () => {
    let h = await startHub(tmp.path('hub'));
    const a = tmp.path('a.db');
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    await h.stop();
    const file = tmp.path('hub/shop.db');
    brick(file);
    h = await startHub(tmp.path('hub'));
    const broken = await runJson<{ error?: { code: string } }>(['clone', '--no-snapshot', `${h.url}/shop`, tmp.path('c.db')]);
    expect({ exit: broken.exitCode, code: broken.json.error?.code }).toEqual({ exit: 1, code: 'bad_change' });
    await h.stop();
    const repaired = await runJson<{ versionsRenumbered: number; clocksLowered: number; cloneAgain: boolean; dbVersion: string }>(['serve', '--dir', tmp.path('hub'), '--repair', 'shop']);
    expect(repaired.exitCode).toBe(0);
    expect(repaired.json).toMatchObject({ cloneAgain: true });
    expect(repaired.json.versionsRenumbered).toBeGreaterThan(0);
    expect(repaired.json.clocksLowered).toBeGreaterThan(0);
    expect(BigInt(repaired.json.dbVersion)).toBeLessThan(100n);
    h = await startHub(tmp.path('hub'));
    try {
      const d = tmp.path('d.db');
      await ok(['clone', `${h.url}/shop`, d]);
      expect(await rows(d, 'select id, name, qty from t order by id')).toEqual([{ id: 1, name: 'one', qty: 42 }, { id: 2, name: 'past the ceiling', qty: 2 }]);
      await sql(d, 'update t set qty = 43 where id = 1');
      expect((await ok(['-d', d, 'push', '--create'])).sent).toBeGreaterThan(0);
      const e = tmp.path('e.db');
      await ok(['clone', `${h.url}/shop`, e]);
      expect(await rows(e)).toEqual(await rows(d));
      // A missing dataset is a clear error.
      expect((await run(['serve', '--dir', tmp.path('hub'), '--repair', 'nope'])).exitCode).toBe(1); // a named dataset that does not exist is not a usage error
    } finally {
      await h.stop();
    }
  });
});
