import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { addRemote, removeRemote } from '../../src/db/state/remotes.js';
import { withStore } from '../../src/db/store.js';
import { ROUNDS, SEED, TIMEOUT, expectIntact, killDelay, expectPrefix, killAfter, receivedCursor, receivedCursorOf, rng, seedSource, siteOf, spawnCli, withPlainDb } from './crash-helpers.js';
import { pgHeld, waitForAsync } from './crash-pg-helpers.js';
import { ok, waitFor } from './sync-helpers.js';
import { STORES, storeSandbox, type StoreHub } from './store-helpers.js';
import { CLI, startHub, type Hub } from '../helpers.js';

// The pushing CLI killed (the hub's side of a cut request) and the hub killed run on both stores;
// PostgreSQL killed under a running hub is the PostgreSQL store's alone. The hub back on the same
// port restarts a SQLite hub only: a hub on PostgreSQL restarts the same way (same code above the store).
const tmp = storeSandbox('crsync-crash-push-');
/** 16 transactions of 600 rows: 19,200 changes, about 190 pages of 100. */
const [TX, ROWS, PAGE] = [16, 600, '100'];
const ALL = { version: 1n << 62n, seq: 0n };
/** Hubs started outside the sandbox (on a fixed port), stopped after each test. */
const hubs: Hub[] = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop();
});

function addRemoteTo(db: string, name: string, url: string): void {
  withStore(db, {}, (s) => addRemote(s.db, name, url));
}

/** The hub's dataset holds a prefix of the pusher's stream, up to the cursor it recorded (its file intact, on SQLite). */
async function expectHubPrefix(a: string, h: StoreHub, name: string, why: string): Promise<bigint> {
  if ('dir' in h.store) {
    const hubFile = join(h.store.dir, `${name}.db`);
    if (!existsSync(hubFile)) return 0n;
    expectIntact(hubFile);
    return expectPrefix(a, hubFile, receivedCursorOf(siteOf(a)), why).version;
  }
  const held = await pgHeld(h.store.postgres, name, siteOf(a));
  return held.exists ? expectPrefix(a, held, null, why).version : 0n;
}

/** How far the hub has committed a's pushes to dataset `name`, in a's stream (0 before the first page). */
async function hubReceived(h: StoreHub, name: string, a: string): Promise<bigint> {
  if ('dir' in h.store) {
    const hubFile = join(h.store.dir, `${name}.db`);
    return existsSync(hubFile) ? receivedCursor(hubFile, siteOf(a)).version : 0n;
  }
  return (await pgHeld(h.store.postgres, name, siteOf(a))).at.version;
}

/** The hub holds all of a's stream. */
async function expectHubHoldsAll(a: string, h: StoreHub, name: string, why: string): Promise<void> {
  if ('dir' in h.store) {
    const hubFile = join(h.store.dir, `${name}.db`);
    expectIntact(hubFile);
    expectPrefix(a, hubFile, ALL, why);
  } else expectPrefix(a, { ...(await pgHeld(h.store.postgres, name)), at: ALL }, null, why);
}

describe('SIGKILL during a push', () => {
  it.each(STORES)('the pushing CLI killed at random points (%s): the hub holds whole pages up to its cursor; a rerun finishes', { timeout: TIMEOUT }, async (kind) => {
    onTestFailed(() => console.error(`crash-push seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED);
    const h = await tmp.hub(kind);
    const a = tmp.path('a.db');
    seedSource(a, TX, ROWS);
    let cut = 0;
    // On PostgreSQL only the rounds that kill once pages are landing (the store's side of a cut
    // push); the early kills are the client's start-up, the same on either store.
    const rounds = Array.from({ length: ROUNDS }, (_, i) => i).filter((r) => kind === 'sqlite' || r % 2 === 1);
    for (const round of rounds) {
      const name = `r${round}`;
      const dataset = `shop${round}`;
      addRemoteTo(a, name, `${h.url}/${dataset}`);
      const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', name, '--page-size', PAGE]);
      // Even rounds: anywhere from start-up on; odd rounds: once pages are landing.
      if (round % 2 === 1) await waitForAsync(async () => (await hubReceived(h, dataset, a)) > 0n);
      const end = await killAfter(push, killDelay(rand, round % 2 === 1));
      const why = `seed ${SEED} round ${round} on ${kind}`;
      expectIntact(a);
      const at = await expectHubPrefix(a, h, dataset, why);
      if (end.killed && at > 0n && at < BigInt(TX)) cut++;
      const again = await ok(['-d', a, 'push', '--create', '--no-snapshot', name, '--page-size', PAGE]);
      expect(again.sent, why).toBeLessThanOrEqual(TX * ROWS * 2);
      await expectHubHoldsAll(a, h, dataset, why);
      expect(await ok(['-d', a, 'push', name])).toMatchObject({ sent: 0 });
    }
    console.log(`crash-push on ${kind}: ${cut} of ${rounds.length} kills landed mid-stream (seed ${SEED})`);
  });

  it.each(STORES)('the hub (%s) killed while it applies a push: its store is intact, holds whole pages; the push resumes on restart', { timeout: TIMEOUT }, async (kind) => {
    onTestFailed(() => console.error(`crash-hub seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED + 1);
    const a = tmp.path('a.db');
    seedSource(a, TX, ROWS);
    // Half the rounds: each restarts a hub twice, and the CLI-kill test covers the same pages.
    for (let round = 0; round < Math.ceil(ROUNDS / 2); round++) {
      const why = `seed ${SEED} round ${round} on ${kind}`;
      const h = await tmp.hub(kind);
      const name = `h${round}`;
      const dataset = `shop${round}`;
      addRemoteTo(a, name, `${h.url}/${dataset}`);
      const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', name, '--page-size', PAGE]);
      await waitForAsync(async () => (await hubReceived(h, dataset, a)) > 0n);
      await new Promise((r) => setTimeout(r, rand(0, 500)));
      h.proc.kill('SIGKILL');
      const cut = await push;
      // Either the push finished first, or the client saw the hub vanish (exit 3, nothing lost).
      expect([0, 3], `${why}: ${String(cut.stdout)}`).toContain(cut.exitCode);
      expectIntact(a);
      await expectHubPrefix(a, h, dataset, why);
      // The client never records more than the hub committed.
      const pushed = withPlainDb(a, (db) => db.prepare('SELECT push_version FROM crsync_remotes WHERE name = ?').pluck().get(name) as bigint);
      expect(pushed, why).toBeLessThanOrEqual(await hubReceived(h, dataset, a));
      // The hub restarts on the same folder (or database), on a new port.
      const h2 = await tmp.hub(kind);
      withStore(a, {}, (s) => {
        removeRemote(s.db, name);
        addRemote(s.db, name, `${h2.url}/${dataset}`);
      });
      await ok(['-d', a, 'push', name, '--page-size', PAGE]);
      await expectHubHoldsAll(a, h2, dataset, why);
      await h2.stop();
    }
  });

  it('the hub killed and back on the same port while the push retries: one command finishes, counting each change once', async () => {
    const h = await tmp.hub('sqlite');
    const a = tmp.path('a.db');
    seedSource(a, TX, ROWS);
    const hubFile = tmp.path('hub/shop.db');
    addRemoteTo(a, 'origin', `${h.url}/shop`);
    const push = execa('node', [CLI, '-d', a, 'push', '--create', '--no-snapshot', '--page-size', PAGE, '--json'], { env: { NO_COLOR: '1', CRSYNC_RETRIES: '8', CRSYNC_RETRY_DELAY_MS: '200' }, reject: false });
    await waitFor(() => existsSync(hubFile) && receivedCursor(hubFile, siteOf(a)).version > 0n);
    h.proc.kill('SIGKILL');
    await h.proc;
    const port = new URL(h.url).port;
    await startHub(tmp.path('hub'), ['--port', port]).then((h2) => hubs.push(h2));
    const r = await push;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    // The pages committed before the kill were sent too.
    expect(JSON.parse(String(r.stdout))).toMatchObject({ sent: TX * ROWS * 2 });
    expectPrefix(a, hubFile, ALL, 'after the retried push');
  });

  it('PostgreSQL killed under the hub and back while the push retries: one command finishes, nothing half-applied', async () => {
    const cluster = await tmp.cluster();
    const h = await tmp.hub('postgres');
    const a = tmp.path('a.db');
    seedSource(a, TX, ROWS);
    addRemoteTo(a, 'origin', `${h.url}/shop`);
    const push = execa('node', [CLI, '-d', a, 'push', '--create', '--no-snapshot', '--page-size', PAGE, '--json'], { env: { NO_COLOR: '1', CRSYNC_RETRIES: '8', CRSYNC_RETRY_DELAY_MS: '300' }, reject: false });
    await waitForAsync(async () => (await hubReceived(h, 'shop', a)) > 0n);
    cluster.kill();
    // Meanwhile the hub is up and says so; its dataset is out of reach.
    const info = await fetch(`${h.url}/v1/datasets/shop`);
    expect({ status: info.status, code: ((await info.json()) as { error?: { code: string } }).error?.code }).toEqual({ status: 503, code: 'store_unavailable' });
    await new Promise((r) => setTimeout(r, 500));
    cluster.start();
    const r = await push;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ sent: TX * ROWS * 2 });
    const held = await pgHeld((h.store as { postgres: string }).postgres, 'shop', siteOf(a));
    expect(held.at.version).toBe(BigInt(TX));
    expectPrefix(a, { ...held, at: ALL }, null, 'after PostgreSQL came back');
    expect(h.proc.exitCode).toBe(null);
  });
});
