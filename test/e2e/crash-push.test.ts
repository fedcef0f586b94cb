import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { addRemote, removeRemote } from '../../src/db/state/remotes.js';
import { withStore } from '../../src/db/store.js';
import { ROUNDS, SEED, TIMEOUT, expectIntact, killDelay, expectPrefix, killAfter, receivedCursor, receivedCursorOf, rng, seedSource, siteOf, spawnCli, withPlainDb } from './crash-helpers.js';
import { ok, sandbox, waitFor } from './sync-helpers.js';
import { CLI, startHub, type Hub } from '../helpers.js';

const tmp = sandbox('crsync-crash-push-');
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

/** The hub's file holds a prefix of the pusher's stream, up to the cursor it recorded. */
function expectHubPrefix(a: string, hubFile: string, why: string): bigint {
  if (!existsSync(hubFile)) return 0n;
  expectIntact(hubFile);
  return expectPrefix(a, hubFile, receivedCursorOf(siteOf(a)), why).version;
}

describe('SIGKILL during a push', () => {
  it('the pushing CLI killed at random points: the hub holds whole pages up to its cursor; a rerun finishes', { timeout: TIMEOUT }, async () => {
    onTestFailed(() => console.error(`crash-push seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED);
    const h = await tmp.hub();
    const a = tmp.path('a.db');
    seedSource(a, TX, ROWS);
    let cut = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const name = `r${round}`;
      const hubFile = tmp.path(`hub/shop${round}.db`);
      addRemoteTo(a, name, `${h.url}/shop${round}`);
      const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', name, '--page-size', PAGE]);
      // Even rounds: anywhere from start-up on; odd rounds: once pages are landing.
      if (round % 2 === 1) await waitFor(() => existsSync(hubFile) && receivedCursor(hubFile, siteOf(a)).version > 0n);
      const end = await killAfter(push, killDelay(rand, round % 2 === 1));
      const why = `seed ${SEED} round ${round}`;
      expectIntact(a);
      const at = expectHubPrefix(a, hubFile, why);
      if (end.killed && at > 0n && at < BigInt(TX)) cut++;
      const again = await ok(['-d', a, 'push', '--create', '--no-snapshot', name, '--page-size', PAGE]);
      expect(again.sent, why).toBeLessThanOrEqual(TX * ROWS * 2);
      expectPrefix(a, hubFile, ALL, why);
      expect(await ok(['-d', a, 'push', name])).toMatchObject({ sent: 0 });
    }
    console.log(`crash-push: ${cut} of ${ROUNDS} kills landed mid-stream (seed ${SEED})`);
  });

  it('the hub killed while it applies a push: its file is intact, holds whole pages; the push resumes on restart', { timeout: TIMEOUT }, async () => {
    onTestFailed(() => console.error(`crash-hub seed: CRSYNC_CRASH_SEED=${SEED}`));
    const rand = rng(SEED + 1);
    const a = tmp.path('a.db');
    seedSource(a, TX, ROWS);
    // Half the rounds: each restarts a hub twice, and the CLI-kill test covers the same pages.
    for (let round = 0; round < Math.ceil(ROUNDS / 2); round++) {
      const why = `seed ${SEED} round ${round}`;
      const h = await tmp.hub();
      const name = `h${round}`;
      const hubFile = tmp.path(`hub/shop${round}.db`);
      addRemoteTo(a, name, `${h.url}/shop${round}`);
      const push = spawnCli(['-d', a, 'push', '--create', '--no-snapshot', name, '--page-size', PAGE]);
      await waitFor(() => existsSync(hubFile) && receivedCursor(hubFile, siteOf(a)).version > 0n);
      await new Promise((r) => setTimeout(r, rand(0, 500)));
      h.proc.kill('SIGKILL');
      const cut = await push;
      // Either the push finished first, or the client saw the hub vanish (exit 3, nothing lost).
      expect([0, 3], `${why}: ${String(cut.stdout)}`).toContain(cut.exitCode);
      expectIntact(a);
      expectHubPrefix(a, hubFile, why);
      // The client never records more than the hub committed.
      const pushed = withPlainDb(a, (db) => db.prepare('SELECT push_version FROM crsync_remotes WHERE name = ?').pluck().get(name) as bigint);
      expect(pushed, why).toBeLessThanOrEqual(receivedCursor(hubFile, siteOf(a)).version);
      // The hub restarts on the same folder, on a new port.
      const h2 = await tmp.hub();
      withStore(a, {}, (s) => {
        removeRemote(s.db, name);
        addRemote(s.db, name, `${h2.url}/shop${round}`);
      });
      await ok(['-d', a, 'push', name, '--page-size', PAGE]);
      expectIntact(hubFile);
      expectPrefix(a, hubFile, ALL, why);
      await h2.stop();
    }
  });

  it('the hub killed and back on the same port while the push retries: one command finishes, counting each change once', async () => {
    const h = await tmp.hub();
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
});
