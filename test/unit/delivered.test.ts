import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openStore, withStore } from '../../src/db/store.js';
import { initReplica } from '../../src/db/replica.js';
import { DeliveredRanges, deliveredAfter } from '../../src/db/changes/delivered.js';
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
      expect([...deliveredAfter(s.db, A, 500n)]).toEqual([
        [501n, 1000n],
        [1002n, 1003n],
      ]);
      expect([...deliveredAfter(s.db, A, 1000n)]).toEqual([[1002n, 1003n]]);
      expect(deliveredAfter(s.db, B, 1005n).size).toBe(0);
    });
  });
});
