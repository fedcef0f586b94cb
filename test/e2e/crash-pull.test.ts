import { existsSync } from 'node:fs';
import { describe, expect, it, onTestFailed } from 'vitest';
import { addRemote } from '../../src/db/state/remotes.js';
import { initReplica } from '../../src/db/replica.js';
import { withStore } from '../../src/db/store.js';
import { join } from 'node:path';
import { ROUNDS, SEED, TIMEOUT, clockCells, expectIntact, killDelay, expectPrefix, killAfter, pullCursorOf, rng, seedSource, spawnCli, withPlainDb, type ClockCell } from './crash-helpers.js';
import { pgHeld } from './crash-pg-helpers.js';
import { ok, runJson, waitFor } from './sync-helpers.js';
import { STORES, storeSandbox, type StoreHub, type StoreKind } from './store-helpers.js';

// A pull or clone killed mid-stream, from a hub on either store (the pages come from the store's
// own stream code); the reference is the hub's stream itself.
const tmp = storeSandbox('crsync-crash-pull-');

/** The hub's cells of t with their places in its stream: what a replica's pull cursor counts in. */
async function hubStream(h: StoreHub, dataset: string): Promise<ClockCell[]> {
  return 'dir' in h.store ? withPlainDb(join(h.store.dir, `${dataset}.db`), clockCells) : (await pgHeld(h.store.postgres, dataset)).cells;
}
const [TX, ROWS, PAGE] = [16, 600, '100'];
const ALL = { version: 1n << 62n, seq: 0n };

/** Changes committed so far by a replica's pulls (its merge records count them). */
function appliedChanges(file: string): number {
  if (!existsSync(file)) return 0;
  // A clone killed during its set-up may leave a file without crsync's tables yet.
  return withPlainDb(file, (db) =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'crsync_applied'").get() === undefined ? 0 : Number((db.prepare('SELECT coalesce(sum(changes), 0) FROM crsync_applied').pluck().get() as bigint | number)),
  );
}

/** True when the file is a replica with an origin remote (a clone got past its set-up). */
function hasOrigin(file: string): boolean {
  if (!existsSync(file)) return false;
  return withPlainDb(file, (db) => {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'crsync_remotes'").get();
    return table !== undefined && db.prepare("SELECT 1 FROM crsync_remotes WHERE name = 'origin'").get() !== undefined;
  });
}

/** True when a clone into the file ran to its end (it no longer marks itself pending). */
function cloneFinished(file: string): boolean {
  if (!hasOrigin(file)) return false;
  return withPlainDb(file, (db) => db.prepare("SELECT 1 FROM crsync_meta WHERE key = 'clone_pending'").get() === undefined);
}

/** A hub on `kind` with dataset shop pushed by a seeded source; its stream, read once (nothing writes it afterwards). */
async function seededHub(kind: StoreKind) {
  const h = await tmp.hub(kind);
  const a = tmp.path('a.db');
  seedSource(a, TX, ROWS);
  withStore(a, {}, (s) => addRemote(s.db, 'origin', `${h.url}/shop`));
  await ok(['-d', a, 'push', '--create']);
  return { h, hubCells: await hubStream(h, 'shop') };
}

describe('SIGKILL during a pull or a clone', () => {
  it.each(STORES)('killed at random points (hub on %s): the replica holds exactly the pages up to its pull cursor; rerunning finishes', { timeout: TIMEOUT }, async (kind) => {
    onTestFailed(() => console.error(`crash-pull seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED + 2);
    const { h, hubCells } = await seededHub(kind);
    let cut = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const why = `seed ${SEED} round ${round} on ${kind}`;
      const late = round % 2 === 1;

      // clone: a new replica, killed; rerunning the clone (or the pull its hint names) finishes.
      const c = tmp.path(`c${round}.db`);
      const clone = spawnCli(['clone', `${h.url}/shop`, c, '--page-size', PAGE]);
      if (late) await waitFor(() => appliedChanges(c) > 0);
      const cloneEnd = await killAfter(clone, killDelay(rand, late));
      if (existsSync(c)) {
        expectIntact(c);
        if (hasOrigin(c)) expectPrefix(hubCells, c, pullCursorOf(), `${why} clone`);
      }
      if (cloneEnd.killed && appliedChanges(c) > 0) cut++;
      if (cloneFinished(c)) {
        // The kill came after the clone had finished (or never came): a clone into the file is
        // now refused, and a pull has nothing left to do but must still succeed.
        const again = await runJson(['clone', `${h.url}/shop`, c, '--page-size', PAGE]);
        expect(again.exitCode, why).toBe(1);
        await ok(['-d', c, 'pull']);
      } else {
        const resumed = await ok(['clone', `${h.url}/shop`, c, '--page-size', PAGE]);
        expect(resumed, why).toHaveProperty('received');
      }
      expectPrefix(hubCells, c, ALL, `${why} clone rerun`);

      // pull into an existing empty replica, killed mid-stream.
      const b = tmp.path(`b${round}.db`);
      initReplica(b);
      withStore(b, {}, (s) => addRemote(s.db, 'origin', `${h.url}/shop`));
      const pull = spawnCli(['-d', b, 'pull', '--page-size', PAGE]);
      if (late) await waitFor(() => appliedChanges(b) > 0);
      const pullEnd = await killAfter(pull, killDelay(rand, late));
      expectIntact(b);
      expectPrefix(hubCells, b, pullCursorOf(), `${why} pull`);
      if (pullEnd.killed && appliedChanges(b) > 0) cut++;
      await ok(['-d', b, 'pull', '--page-size', PAGE]);
      expectPrefix(hubCells, b, ALL, `${why} pull rerun`);
      expect(await ok(['-d', b, 'sync'])).toMatchObject({ sent: 0, received: 0 });
    }
    console.log(`crash-pull: ${cut} of ${2 * ROUNDS} kills landed mid-stream (seed ${SEED})`);
  });

  it.each(STORES)('the hub (%s) killed mid-pull: the replica keeps whole pages; the pull resumes from the hub restarted', { timeout: TIMEOUT }, async (kind) => {
    const { h, hubCells } = await seededHub(kind);
    const b = tmp.path('b.db');
    initReplica(b);
    withStore(b, {}, (s) => addRemote(s.db, 'origin', `${h.url}/shop`));
    const pull = spawnCli(['-d', b, 'pull', '--page-size', PAGE]);
    await waitFor(() => appliedChanges(b) > 0);
    h.proc.kill('SIGKILL');
    const cut = await pull;
    // Either the pull finished first, or it saw the hub vanish (exit 3) with whole pages kept.
    expect([0, 3], String(cut.stdout)).toContain(cut.exitCode);
    expectIntact(b);
    const at = expectPrefix(hubCells, b, pullCursorOf(), `${kind}: after the kill`);
    const kept = appliedChanges(b);
    console.log(`crash-pull, hub on ${kind} killed: ${kept} of ${TX * ROWS * 2} changes were in (exit ${cut.exitCode})`);
    // The hub comes back on the same port and store; the next pull takes only the rest.
    await tmp.hub(kind, { extra: ['--port', new URL(h.url).port] });
    const rest = await ok(['-d', b, 'pull', '--page-size', PAGE]);
    expect(rest.received + kept, `${kind}: cut at ${at.version}/${at.seq}`).toBe(TX * ROWS * 2);
    expectPrefix(hubCells, b, ALL, `${kind}: after the rerun`);
    expect(await ok(['-d', b, 'sync'])).toMatchObject({ sent: 0, received: 0 });
  });
});
