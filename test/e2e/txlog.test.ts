import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { crsync, crsyncJson } from '../helpers.js';
import { extensionPath } from '../../src/db/extension.js';
import { hubForFile, ok, rows, sql, sync } from './conflicts-setup.js';

interface LogEntry {
  dbVersion: number;
  at: string | null;
  source: string;
  tables: Record<string, number>;
}

async function log(db: string, args: string[] = []): Promise<LogEntry[]> {
  const r = await crsyncJson<LogEntry[]>(['-d', db, 'log', ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json;
}

/** Writes with cr-sqlite loaded, as a program that is not crsync would. */
function foreign(file: string, fn: (db: Database.Database) => void): void {
  const db = new Database(file);
  db.loadExtension(extensionPath());
  try {
    fn(db);
  } finally {
    db.prepare('SELECT crsql_finalize()').run();
    db.close();
  }
}

describe('the transaction log on merges and on a long-lived replica', () => {
  const { replicas } = hubForFile();

  it('logs a crsync merge once with the rows it changed, and a merge by another program too', async () => {
    const { a, b } = await replicas('txlog-merge', 5);
    await sql(a, "UPDATE items SET name = 'a' || id WHERE id <= 3");
    await sync(a);
    await sync(b);
    const [merged] = await log(b, ['--limit', '1']);
    expect(merged).toMatchObject({ source: 'origin', tables: { items: 3 } });
    // The merge's rows are counted once (not once per merged cell and again by crsync).
    expect(rows(b, 'SELECT tbl, changes FROM crsync_txlog WHERE db_version = ' + merged!.dbVersion)).toEqual([{ tbl: 'items', changes: 3 }]);
    // No mark of crsync's merges outlives them.
    expect(rows(b, "SELECT key FROM crsync_meta WHERE key LIKE 'txlog%'")).toEqual([]);

    // Another program merges a's next change into b through crsql_changes: the triggers log it.
    await sql(a, "UPDATE items SET qty = 40 WHERE id = 4");
    const before = (await log(b, ['--limit', '1']))[0]!.dbVersion;
    let changes: unknown[][] = [];
    foreign(a, (db) => {
      const v = db.prepare('SELECT crsql_db_version()').pluck().safeIntegers(true).get();
      changes = db.prepare('SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes WHERE db_version = ?').raw(true).safeIntegers(true).all(v) as unknown[][];
    });
    expect(changes).toHaveLength(1);
    foreign(b, (db) => {
      const ins = db.prepare('INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      db.transaction(() => {
        for (const c of changes) ins.run(...c);
      })();
    });
    const [theirs] = await log(b, ['--limit', '1']);
    expect(theirs!.dbVersion).toBeGreaterThan(before);
    expect(theirs!.tables).toEqual({ items: 1 });
    expect(rows(b, 'SELECT qty FROM items WHERE id = 4')).toEqual([{ qty: 40 }]);
  });

  it('keeps the newest txlog_keep entries of an old replica, pruned as it syncs, and says so', async () => {
    const { a } = await replicas('txlog-prune', 3);
    await sql(a, "INSERT OR REPLACE INTO crsync_meta (key, value) VALUES ('txlog_keep', 5)");
    for (let i = 1; i <= 12; i++) await sql(a, `UPDATE items SET qty = ${i} WHERE id = ${(i % 3) + 1}`);
    expect((await log(a, ['--limit', '100'])).length).toBeGreaterThanOrEqual(12);
    await sync(a);
    const kept = await log(a, ['--limit', '100']);
    expect(kept).toHaveLength(5);
    // The newest are kept: the last write is the newest entry.
    expect(Math.min(...kept.map((e) => e.dbVersion))).toBeGreaterThan(7);
    const human = await crsync(['-d', a, 'log', '--limit', '100']);
    expect(human.exitCode).toBe(0);
    expect(human.stderr).toMatch(/transactions before version \d+ were pruned from the log \(it keeps the newest 5 entries/);
    // A listing that does not reach the pruned part says nothing of it.
    expect((await crsync(['-d', a, 'log', '--limit', '2'])).stderr).not.toMatch(/pruned/);
    // A bad setting falls back to the default (10,000): nothing more is pruned.
    await sql(a, "INSERT OR REPLACE INTO crsync_meta (key, value) VALUES ('txlog_keep', 'lots')");
    await sql(a, 'UPDATE items SET qty = 99 WHERE id = 1');
    await sync(a);
    expect(await log(a, ['--limit', '100'])).toHaveLength(6);
    expect(await ok(['-d', a, 'status', '--offline'])).toBeTruthy();
  });
});
