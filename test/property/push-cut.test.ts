import { afterAll, beforeAll, expect, it } from 'vitest';
import { addRemote } from '../../src/db/remotes.js';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { openStore } from '../../src/db/store.js';
import { pushChanges } from '../../src/sync/engine.js';
import { HubControl, scratchDir } from './faults.js';

// A push cut off or aborted mid-stream must end with a clean, retryable error (or succeed on a
// retry), never with the page reader's "connection is busy" from closing it mid-statement.
const tmp = scratchDir('crsync-push-cut-');
const hub = new HubControl(tmp.path('hub'));
beforeAll(() => hub.start());
afterAll(async () => {
  await hub.stop();
  tmp.cleanup();
});

function replica(name: string, rows: number): string {
  const path = tmp.path(`${name}.db`);
  initReplica(path);
  const s = openStore(path);
  try {
    s.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, s TEXT)');
    trackTables(s, ['t']);
    addRemote(s.db, 'origin', `${hub.url}/${name}`);
    s.db.exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows}) INSERT INTO t SELECT i, 'row ' || i FROM c`);
  } finally {
    s.close();
  }
  return path;
}

it('cut connections and aborts mid-push give clean errors, and the next push completes', async () => {
  const outcomes: string[] = [];
  for (let k = 0; k < 8; k++) {
    const db = replica(`p${k}`, 400);
    const abort = new AbortController();
    const opts = { dbPath: db, remote: 'origin', env: {}, pageSize: 1, retry: { attempts: 1 } };
    if (k % 2 === 0) hub.proxy!.arm({ afterBytes: 1500 + k * 300, action: 'cut' });
    const onProgress = k % 2 === 1 ? (p: { changes: number }) => p.changes >= (k % 4 === 1 ? 1 : k * 10) && abort.abort() : undefined;
    const first = await pushChanges({ ...opts, signal: abort.signal, onProgress }).then(
      () => 'ok',
      (err: Error & { code?: unknown }) => (typeof err.code === 'string' ? err.code : err.name),
    );
    hub.proxy!.disarm();
    outcomes.push(first);
    expect(['ok', 'remote_unreachable', 'truncated_stream', 'AbortError']).toContain(first);
    await pushChanges(opts);
    const again = await pushChanges(opts);
    expect(again.sent).toBe(0);
  }
  // The faults did hit mid-stream.
  expect(outcomes.filter((o) => o !== 'ok').length).toBeGreaterThan(4);
});
