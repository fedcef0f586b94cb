import { afterAll, beforeAll, expect, it } from 'vitest';
import { addRemote } from '../../src/db/state/remotes.js';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { openStore } from '../../src/db/store.js';
import { pushChanges, syncChanges } from '../../src/sync/client/engine.js';
import { HubControl, scratchDir } from './faults.js';

// A push cut off or aborted mid-stream must end with a clean error (retryable, or the abort),
// never with the page reader's "connection is busy" from closing it mid-statement.
const tmp = scratchDir('crsync-push-cut-');
const hub = new HubControl(tmp.path('hub'));
beforeAll(() => hub.start());
afterAll(async () => {
  await hub.stop();
  tmp.cleanup();
});

/** A replica with `rows` rows in t, its origin a fresh dataset on the hub (created when `create`). */
async function replica(name: string, rows: number, create: boolean): Promise<string> {
  const path = tmp.path(`${name}.db`);
  initReplica(path);
  const s = openStore(path);
  try {
    s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, s TEXT)');
    trackTables(s, ['t']);
    addRemote(s.db, 'origin', `${hub.url}/${name}`);
    if (create) await pushChanges({ dbPath: path, remote: 'origin', env: {}, create: true });
    s.db.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows}) INSERT INTO t SELECT i, 'row ' || i FROM c`);
  } finally {
    s.close();
  }
  return path;
}

const outcome = (err: Error & { code?: unknown }): string => (typeof err.code === 'string' ? err.code : err.name);

it('a sync aborted at its first pushed page ends with the abort, and the next sync completes', async () => {
  // Seed 1191 of the convergence test: closing the reader failed in about one run in three.
  for (let k = 0; k < 20; k++) {
    const db = await replica(`a${k}`, 3, true);
    const abort = new AbortController();
    const opts = { dbPath: db, remote: 'origin', env: {}, pageSize: 1 + (k % 3) };
    const first = await syncChanges({ ...opts, signal: abort.signal, onProgress: () => abort.abort() }).then(() => 'ok', outcome);
    expect(first).toBe('AbortError');
    await syncChanges(opts);
    expect((await syncChanges(opts)).sent).toBe(0);
  }
});

it('a push whose connection is cut mid-stream fails cleanly, and the next push completes', async () => {
  const outcomes: string[] = [];
  for (let k = 0; k < 6; k++) {
    const db = await replica(`c${k}`, 400, false);
    const opts = { dbPath: db, remote: 'origin', env: {}, pageSize: 1, retry: { attempts: 1 }, create: true };
    hub.proxy!.arm({ afterBytes: 1500 + k * 700, action: 'cut' });
    const first = await pushChanges(opts).then(() => 'ok', outcome);
    hub.proxy!.disarm();
    outcomes.push(first);
    await pushChanges(opts);
    expect((await pushChanges(opts)).sent).toBe(0);
  }
  expect(outcomes.every((o) => ['remote_unreachable', 'truncated_stream'].includes(o)), outcomes.join(', ')).toBe(true);
});
