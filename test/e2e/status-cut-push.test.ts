import { describe, expect, it } from 'vitest';
import type { Hub } from '../helpers.js';
import type { RemoteStatus } from '../../src/sync/client/status.js';
import { bigPushUnderWay, ok, sandbox, type spawnCli } from './sync-helpers.js';

const ROWS = 60_000;
/** Two changes a row (name, qty). */
const TOTAL = 2 * ROWS;

const tmp = sandbox('crsync-status-cut-');

async function changeCount(db: string): Promise<number> {
  return (await ok<{ n: number }[]>(['-d', db, 'sql', 'select count(*) as n from crsql_changes']))[0]!.n;
}

/**
 * A replica with TOTAL changes pushing them to a new hub dataset; once the hub has committed a
 * few pages, `cut` stops the push (kills the hub, or interrupts the client). Returns how it ended.
 */
async function cutPush(cut: (push: ReturnType<typeof spawnCli>, hub: Hub) => void): Promise<{ a: string; hubFile: string; exitCode: number | undefined; stdout: string }> {
  const h = await tmp.hub();
  const { a, hubFile, push } = await bigPushUnderWay(tmp, h, ROWS);
  cut(push, h);
  const r = await push;
  return { a, hubFile, exitCode: r.exitCode, stdout: String(r.stdout) };
}

async function remoteStatus(a: string, ...args: string[]): Promise<RemoteStatus> {
  const s = await ok<{ remotes: RemoteStatus[] }>(['-d', a, 'status', ...args]);
  return s.remotes[0]!;
}

describe('status after a push cut mid-stream', () => {
  it('the hub killed: status asks the restarted hub, shows the partial push and what is left, and the rerun sends exactly that', async () => {
    const cut = await cutPush((_push, hub) => hub.proc.kill('SIGKILL'));
    expect(cut.exitCode, cut.stdout).toBe(3);
    // The client could not learn what landed: offline, it still counts everything.
    const offline = await remoteStatus(cut.a, '--offline');
    expect(offline).toMatchObject({ lastPush: null, unpushed: TOTAL });

    const h2 = await tmp.hub();
    await ok(['-d', cut.a, 'remote', 'set-url', 'origin', `${h2.url}/big`]);
    const onHub = await changeCount(cut.hubFile);
    expect(onHub).toBeGreaterThan(0);
    expect(onHub).toBeLessThan(TOTAL);
    const before = Date.now();
    const s = await remoteStatus(cut.a);
    expect(s).toMatchObject({ reachable: true, unpushed: TOTAL - onHub, unpushedByTable: { t: TOTAL - onHub } });
    // The last push is the hub's time of the last page it committed: before the status, not never.
    expect(s.lastPush).not.toBeNull();
    expect(Date.parse(s.lastPush!)).toBeLessThanOrEqual(before);
    expect(Date.now() - Date.parse(s.lastPush!)).toBeLessThan(120_000);

    const rerun = await ok(['-d', cut.a, 'push', '--page-size', '1000']);
    expect(rerun.sent).toBe(s.unpushed);
    expect(await remoteStatus(cut.a)).toMatchObject({ unpushed: 0, unpulled: 0 });
  });

  it('the client interrupted (SIGINT): it keeps what the hub committed, so even status --offline is right', async () => {
    const cut = await cutPush((push) => push.kill('SIGINT'));
    expect(cut.exitCode, cut.stdout).toBe(130);
    expect(JSON.parse(cut.stdout)).toMatchObject({ error: { code: 'interrupted' } });
    const onHub = await changeCount(cut.hubFile);
    expect(onHub).toBeGreaterThan(0);
    expect(onHub).toBeLessThan(TOTAL);
    // What the client learnt as it stopped: the pages the hub had committed by then. The hub
    // goes on applying whole frames it had already received, so offline this is an upper bound
    // of what is left (never below it); asked again, the hub's record gives the exact figure.
    const offline = await remoteStatus(cut.a, '--offline');
    expect(offline.unpushed).toBeGreaterThanOrEqual(TOTAL - onHub);
    expect(offline.unpushed).toBeLessThan(TOTAL);
    expect(offline.lastPush).not.toBeNull();
    expect(await remoteStatus(cut.a)).toMatchObject({ unpushed: TOTAL - onHub, lastPush: offline.lastPush });

    const rerun = await ok(['-d', cut.a, 'push', '--page-size', '1000']);
    expect(rerun.sent).toBe(TOTAL - onHub);
    expect(await changeCount(cut.hubFile)).toBe(TOTAL);
  });
});
