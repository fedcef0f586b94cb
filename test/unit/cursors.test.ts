import { afterEach, describe, expect, it } from 'vitest';
import { countChangesAfter, readPages } from '../../src/db/changes/apply.js';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { runSql } from '../../src/db/sql.js';
import { withStore } from '../../src/db/store.js';
import { cursorToJson } from '../../src/sync/protocol/codec.js';
import { END_OF_VERSION, START } from '../../src/sync/protocol/types.js';
import { tempDir } from '../helpers.js';

describe('the stream sentinels', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  function replicaWithTwoVersions(): string {
    const t = tempDir();
    dirs.push(t);
    const db = t.path('a.db');
    initReplica(db);
    withStore(db, {}, (s) => {
      runSql(s.db, 'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER)');
      trackTables(s, ['t']);
      runSql(s.db, "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
      runSql(s.db, "INSERT INTO t VALUES (4, 'd', 4)");
    });
    return db;
  }

  it('END_OF_VERSION is 2^53 - 1, exact as a JSON number, and START is fixed', () => {
    expect(END_OF_VERSION).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(BigInt(JSON.parse(JSON.stringify(Number(END_OF_VERSION))) as number)).toBe(END_OF_VERSION);
    expect(cursorToJson({ version: 1n, seq: END_OF_VERSION })).toEqual({ version: '1', seq: '9007199254740991' });
    expect(START).toEqual({ version: 0n, seq: -1n });
    expect(Object.isFrozen(START)).toBe(true);
  });

  it('a stream read to its end says so, and a cursor at END_OF_VERSION has all of its version', () => {
    withStore(replicaWithTwoVersions(), {}, (s) => {
      const pages = [...readPages(s.db, START, 2)];
      const all = pages.flatMap((p) => p.changes);
      const versions = [...new Set(all.map((c) => c[5]))];
      expect(versions).toEqual([1n, 2n]);
      expect(pages.at(-1)!.cursor).toEqual({ version: 2n, seq: END_OF_VERSION });
      expect(countChangesAfter(s.db, START).total).toBe(all.length);

      const second = all.filter((c) => c[5] === 2n).length;
      const lastSeqOfFirst = all.filter((c) => c[5] === 1n).at(-1)![8];
      expect(countChangesAfter(s.db, { version: 1n, seq: END_OF_VERSION }).total).toBe(second);
      expect(countChangesAfter(s.db, { version: 1n, seq: lastSeqOfFirst }).total).toBe(second);
      expect(countChangesAfter(s.db, { version: 1n, seq: 0n }).total).toBe(all.length - 1);
      // Resuming after a version read to its end skips it without reading it again.
      expect([...readPages(s.db, { version: 1n, seq: END_OF_VERSION }, 100)].flatMap((p) => p.changes)).toEqual(all.filter((c) => c[5] === 2n));
      expect(countChangesAfter(s.db, { version: 2n, seq: END_OF_VERSION }).total).toBe(0);
      expect([...readPages(s.db, { version: 2n, seq: END_OF_VERSION }, 100)]).toEqual([]);
    });
  });
});
