import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openStore, withStore } from '../../src/db/store.js';
import { initReplica } from '../../src/db/replica.js';
import { DeliveredRanges, deliveredAfter, deliveredBy } from '../../src/db/changes/delivered.js';
import { countChangesAfter, readPages } from '../../src/db/changes/stream.js';
import { tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => (tmp = tempDir()));
afterEach(() => tmp.cleanup());

const A = Buffer.alloc(16, 0xaa);
const B = Buffer.alloc(16, 0xbb);

describe('DeliveredRanges', () => {
  it('joins adjacent ranges and answers membership at the edges', () => {
    const r = new DeliveredRanges([
      [3n, 5n],
      [6n, 6n],
      [10n, 12n],
    ]);
    expect([...r]).toEqual([
      [3n, 6n],
      [10n, 12n],
    ]);
    expect([2n, 3n, 6n, 7n, 9n, 10n, 12n, 13n].map((v) => r.has(v))).toEqual([false, true, true, false, false, true, true, false]);
  });
});

describe('merge records of a version-2 replica', () => {
  it('are folded into runs in place, and only ranges above a cursor are read', () => {
    const p = tmp.path('old.db');
    initReplica(p);
    // Shape the file as version 2 left it: one row per merge transaction.
    const raw = new Database(p);
    raw.exec(`DROP TABLE crsync_applied;
      CREATE TABLE crsync_applied (db_version INTEGER PRIMARY KEY NOT NULL, peer_site BLOB, remote TEXT, changes INTEGER NOT NULL, at TEXT NOT NULL);
      CREATE INDEX crsync_applied_peer ON crsync_applied (peer_site, db_version);
      UPDATE crsync_meta SET value = 2 WHERE key = 'bookkeeping_version';`);
    const add = raw.prepare('INSERT INTO crsync_applied VALUES (?, ?, ?, ?, ?)');
    // 1-1000 from A (one run), 1001 local (no row), 1002-1003 from A, 1004-1005 from B.
    for (let v = 1; v <= 1000; v++) add.run(v, A, 'origin', 2, 't');
    add.run(1002, A, 'origin', 1, 't');
    add.run(1003, A, 'origin', 1, 't');
    add.run(1004, B, null, 3, 't');
    add.run(1005, B, null, 3, 't');
    raw.close();

    openStore(p).close();
    withStore(p, {}, (s) => {
      const runs = s.db.prepare('SELECT db_version, last_version, changes FROM crsync_applied ORDER BY db_version').raw(true).all();
      expect(runs).toEqual([
        [1, 1000, 2000],
        [1002, 1003, 2],
        [1004, 1005, 6],
      ]);
      expect([...deliveredAfter(s.db, A, 500n)!]).toEqual([
        [501n, 1000n],
        [1002n, 1003n],
      ]);
      expect([...deliveredAfter(s.db, A, 1000n)!]).toEqual([[1002n, 1003n]]);
      expect(deliveredAfter(s.db, B, 1005n)!.size).toBe(0);
      // More ranges than a stream skips one by one: the caller filters in SQL instead.
      expect(deliveredAfter(s.db, A, 0n, 1)).toBeNull();
      const byA = deliveredBy(s.db, A);
      expect([1n, 1000n, 1001n, 1002n, 1004n].map(byA)).toEqual([true, true, false, true, false]);
    });
  });
});

describe('streams and counts leave out what a peer delivered', () => {
  it('the same, whether the runs above the cursor are skipped or tested row by row', () => {
    const p = tmp.path('many.db');
    initReplica(p);
    withStore(p, {}, (s) => {
      s.db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT); SELECT crsql_as_crr('t')");
      // 200 local transactions of one row each (versions 1-200); every odd one "delivered by" A.
      const ins = s.db.prepare('INSERT INTO t VALUES (?, ?)');
      for (let i = 1; i <= 200; i++) ins.run(i, `v${i}`);
      const rec = s.db.prepare("INSERT INTO crsync_applied (db_version, last_version, peer_site, remote, changes, at) VALUES (?, ?, ?, 'o', 1, 't')");
      for (let v = 1; v <= 200; v += 2) rec.run(v, v, A);
      // (10, -1) is before all of version 10: versions 10-200 are 191 changes of one cell,
      // 95 of them A's (11, 13 ... 199), so 96 are left for A.
      const since = { version: 10n, seq: -1n };
      expect(deliveredAfter(s.db, A, 10n)).toBeNull();
      expect(countChangesAfter(s.db, since, { excludeDeliveredBy: A }).total).toBe(96);
      expect(countChangesAfter(s.db, since, { excludeDeliveredBy: B }).total).toBe(191);
      const pages = [...readPages(s.db, since, 7, { excludeDeliveredBy: A })];
      const versions = pages.flatMap((pg) => pg.changes.map((c) => c[5]));
      expect(versions.length).toBe(96);
      expect(versions.every((v) => v % 2n === 0n)).toBe(true);
      // Few runs above the cursor: skipped as spans, with the same answer.
      expect([...deliveredAfter(s.db, A, 190n)!].length).toBe(5);
      expect(countChangesAfter(s.db, { version: 190n, seq: -1n }, { excludeDeliveredBy: A }).total).toBe(6);
    });
  });
});
