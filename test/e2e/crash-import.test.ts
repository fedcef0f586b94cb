import { writeFileSync } from 'node:fs';
import { describe, expect, it, onTestFailed } from 'vitest';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { withStore } from '../../src/db/store.js';
import { ROUNDS, SEED, TIMEOUT, countRows, expectIntact, killAfter, rng, spawnCli, withPlainDb } from './crash-helpers.js';
import { ok, sandbox } from './sync-helpers.js';

const tmp = sandbox('crsync-crash-import-');
/** About a second of import on this machine. */
const ROWS = 60_000;
const BATCH = 2000;

function writeCsv(file: string): void {
  const lines = ['id,name,qty'];
  for (let i = 1; i <= ROWS; i++) lines.push(`${i},"n${i}",${i * 3}`);
  writeFileSync(file, lines.join('\n') + '\n');
}

function makeTarget(file: string): void {
  initReplica(file);
  withStore(file, {}, (s) => {
    s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER)');
    trackTables(s, ['t']);
  });
}

/** Ids present are exactly 1..n (a prefix of the file), each row whole; returns n. */
function expectPrefixOfFile(file: string, why: string): number {
  const r = withPlainDb(file, (db) => db.prepare('SELECT count(*) AS n, coalesce(max(id), 0) AS top, coalesce(sum(qty = id * 3 AND name = \'n\' || id), 0) AS whole FROM t').get() as { n: bigint; top: bigint; whole: bigint });
  expect({ n: r.n, whole: r.whole }, why).toEqual({ n: r.top, whole: r.top });
  return Number(r.n);
}

describe('SIGKILL during an import', () => {
  it('all or nothing by default: after a kill the table is empty or complete, and a rerun imports it all', { timeout: TIMEOUT }, async () => {
    onTestFailed(() => console.error(`crash-import seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED + 3);
    const csv = tmp.path('items.csv');
    writeCsv(csv);
    for (let round = 0; round < ROUNDS; round++) {
      const why = `seed ${SEED} round ${round}`;
      const db = tmp.path(`all${round}.db`);
      makeTarget(db);
      const end = await killAfter(spawnCli(['-d', db, 'import', 't', csv]), rand(300, 1400));
      expectIntact(db);
      const n = countRows(db);
      expect([0, ROWS], why).toContain(n);
      if (n === 0) {
        expect(end.killed, why).toBe(true);
        expect(await ok(['-d', db, 'import', 't', csv]), why).toMatchObject({ rows: ROWS, skipped: 0 });
      }
      expect(expectPrefixOfFile(db, why)).toBe(ROWS);
      // Every imported row is a local change, ready to push.
      expect(withPlainDb(db, (c) => Number(c.prepare('SELECT count(*) FROM t__crsql_clock').pluck().get() as bigint)), why).toBe(2 * ROWS);
    }
  });

  it('--skip-bad commits every --batch rows: a kill keeps whole batches; rerunning completes, counting what is there as skipped', { timeout: TIMEOUT }, async () => {
    onTestFailed(() => console.error(`crash-import seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED + 4);
    const csv = tmp.path('items.csv');
    writeCsv(csv);
    let cut = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const why = `seed ${SEED} round ${round}`;
      const db = tmp.path(`batch${round}.db`);
      makeTarget(db);
      await killAfter(spawnCli(['-d', db, 'import', 't', csv, '--skip-bad', '--batch', String(BATCH)]), rand(300, 1400));
      expectIntact(db);
      const n = expectPrefixOfFile(db, why);
      // Committed in whole batches (or complete).
      expect(n % BATCH === 0 || n === ROWS, `${why}: ${n} rows`).toBe(true);
      if (n > 0 && n < ROWS) cut++;
      const again = await ok<{ rows: number; skipped: number }>(['-d', db, 'import', 't', csv, '--skip-bad', '--batch', String(BATCH)]);
      // Rows already there collide with their own key: skipped and reported, never duplicated.
      expect(again, why).toMatchObject({ rows: ROWS - n, skipped: n });
      expect(expectPrefixOfFile(db, why)).toBe(ROWS);
    }
    console.log(`crash-import: ${cut} of ${ROUNDS} --skip-bad kills landed between batches (seed ${SEED})`);
  });
});
