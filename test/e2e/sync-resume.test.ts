import { describe, expect, it } from 'vitest';
import { bigPushUnderWay, ok, peek, sandbox, spawnCli, waitFor } from './sync-helpers.js';

const ROWS = 100_000;
/** Two changes a row (name, qty). */
const TOTAL = 2 * ROWS;
const DIGEST = 'select count(*) as n, sum(id) as ids, sum(qty) as qty, sum(length(name)) as names from t';

const tmp = sandbox('crsync-resume-');

async function changeCount(db: string): Promise<number> {
  return (await ok<{ n: number }[]>(['-d', db, 'sql', 'select count(*) as n from crsql_changes']))[0]!.n;
}

describe('a 200k-change transfer cut mid-stream resumes from the last committed page', () => {
  it('hub killed during a push, then client killed during a pull: nothing repeated or lost', async () => {
    const h = await tmp.hub();
    // The hub dies once it has committed a few pages of the push.
    const { a, hubFile, push } = await bigPushUnderWay(tmp, h, ROWS);
    h.proc.kill('SIGKILL');
    const cut = await push;
    expect(cut.exitCode, cut.stdout).toBe(3);
    expect(JSON.parse(cut.stdout)).toMatchObject({ error: { code: 'remote_unreachable' } });

    // Restarted on the same folder (a new port): the push sends only what the hub lacks.
    const h2 = await tmp.hub();
    const onHub = await changeCount(hubFile);
    expect(onHub).toBeGreaterThan(0);
    expect(onHub).toBeLessThan(TOTAL);
    await ok(['-d', a, 'remote', 'remove', 'origin']);
    await ok(['-d', a, 'remote', 'add', 'origin', `${h2.url}/big`]);
    const pushed = await ok(['-d', a, 'push', '--page-size', '1000']);
    expect(pushed.sent).toBe(TOTAL - onHub);
    expect(await changeCount(hubFile)).toBe(TOTAL);
    const digest = await ok(['-d', a, 'sql', DIGEST]);
    expect(await ok(['-d', hubFile, 'sql', DIGEST])).toEqual(digest);

    // A clone killed after a few committed pages; `pull` brings exactly the rest.
    const b = tmp.path('b.db');
    const clone = spawnCli(['clone', '--no-snapshot', `${h2.url}/big`, b, '--page-size', '1000']);
    // Three pages of 1000 committed (merge records count the changes of each run of pages).
    await waitFor(() => ((peek(b, 'select sum(changes) from crsync_applied') as number | null) ?? 0) >= 3000);
    clone.kill('SIGKILL');
    expect((await clone).signal).toBe('SIGKILL');
    const committed = await changeCount(b);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(TOTAL);
    const pulled = await ok(['-d', b, 'pull', '--page-size', '1000']);
    expect(pulled.received).toBe(TOTAL - committed);
    expect(await changeCount(b)).toBe(TOTAL);
    expect(await ok(['-d', b, 'sql', DIGEST])).toEqual(digest);
    expect(await ok(['-d', b, 'sync'])).toMatchObject({ sent: 0, received: 0 });
  });
});
