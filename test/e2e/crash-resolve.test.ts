import { describe, expect, it, onTestFailed } from 'vitest';
import { addRemote } from '../../src/db/state/remotes.js';
import { withStore } from '../../src/db/store.js';
import { cloneReplica } from '../../src/sync/client/clone.js';
import { pullChanges, pushChanges } from '../../src/sync/client/engine.js';
import { ROUNDS, SEED, TIMEOUT, expectIntact, killAfter, rng, seedSource, spawnCli, withPlainDb } from './crash-helpers.js';
import { ok, sandbox } from './sync-helpers.js';

const tmp = sandbox('crsync-crash-resolve-');
/** One conflict a row. */
const ROWS = 2500;

/** Open and resolved conflicts, and rows whose name is A's (the losing side, which --theirs keeps). */
function state(file: string): { open: number; resolved: number; theirs: number } {
  return withPlainDb(file, (db) => {
    const q = (sql: string): number => Number(db.prepare(sql).pluck().get() as bigint);
    return {
      open: q('SELECT count(*) FROM crsync_conflicts WHERE resolved_at IS NULL'),
      resolved: q('SELECT count(*) FROM crsync_conflicts WHERE resolved_at IS NOT NULL'),
      theirs: q("SELECT count(*) FROM t WHERE name LIKE 'a %'"),
    };
  });
}

describe('SIGKILL during resolve', () => {
  it('resolve is one transaction: after a kill all conflicts are open and no row changed, or all are settled; a rerun finishes', { timeout: TIMEOUT }, async () => {
    onTestFailed(() => console.error(`crash-resolve seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED + 5);
    const h = await tmp.hub();
    const a = tmp.path('a.db');
    seedSource(a, 1, ROWS);
    const env = {};
    const sync = { env, remote: 'origin', retry: { attempts: 1 } };
    withStore(a, {}, (s) => addRemote(s.db, 'origin', `${h.url}/shop`));
    await pushChanges({ ...sync, dbPath: a, create: true });
    // Both edit every name while apart; 'b ...' > 'a ...', so B's values win and A's lose.
    const replicas = [];
    for (let round = 0; round < ROUNDS; round++) {
      const b = tmp.path(`b${round}.db`);
      await cloneReplica(`${h.url}/shop`, b, { env, retry: { attempts: 1 } });
      withStore(b, {}, (s) => s.db.exec("UPDATE t SET name = 'b ' || id"));
      replicas.push(b);
    }
    withStore(a, {}, (s) => s.db.exec("UPDATE t SET name = 'a ' || id"));
    await pushChanges({ ...sync, dbPath: a });
    for (const b of replicas) {
      const pulled = await pullChanges({ ...sync, dbPath: b });
      expect(pulled.conflicts).toBe(ROWS);
    }

    let cut = 0;
    for (const [round, b] of replicas.entries()) {
      const why = `seed ${SEED} round ${round}`;
      const end = await killAfter(spawnCli(['-d', b, 'resolve', '--all', '--theirs']), rand(200, 1000));
      expectIntact(b);
      const after = state(b);
      if (after.open === ROWS) {
        cut++;
        expect(end.killed, why).toBe(true);
        expect(after, why).toEqual({ open: ROWS, resolved: 0, theirs: 0 });
        const again = await ok<{ written: number }>(['-d', b, 'resolve', '--all', '--theirs']);
        expect(again.written, why).toBe(ROWS);
      } else {
        expect(after, why).toEqual({ open: 0, resolved: ROWS, theirs: ROWS });
        // Nothing open is left: a rerun says so and succeeds.
        expect(await ok<{ resolved: unknown[] }>(['-d', b, 'resolve', '--all', '--theirs']), why).toMatchObject({ resolved: [] });
      }
      expect(state(b), why).toEqual({ open: 0, resolved: ROWS, theirs: ROWS });
    }
    console.log(`crash-resolve: ${cut} of ${ROUNDS} kills landed before the commit (seed ${SEED})`);
  });
});
