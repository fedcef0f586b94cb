import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crsyncJson } from '../helpers.js';
import { run, sandbox, SYNC_ENV } from './sync-helpers.js';

const box = sandbox('crsync-create-');

async function replica(db: string): Promise<void> {
  expect((await run(['init', '-d', db])).exitCode).toBe(0);
  expect((await run(['sql', '-d', db, "CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b')"])).exitCode).toBe(0);
  expect((await run(['track', 't', '-d', db])).exitCode).toBe(0);
}

const json = <T>(args: string[]) => crsyncJson<T>(args, { env: SYNC_ENV });
type ErrorJson = { error: { code: string; message: string; hint: string } };

describe('creating a dataset is explicit', () => {
  it('push, pull, sync and clone to a missing hub dataset fail (exit 1, dataset_not_found, a hint naming --create) and create nothing', async () => {
    const hub = await box.hub();
    const a = box.path('a.db');
    await replica(a);
    await run(['remote', 'add', 'origin', `${hub.url}/todso`, '-d', a]);
    for (const verb of ['push', 'pull', 'sync']) {
      const r = await json<ErrorJson>([verb, '-d', a]);
      expect(r.exitCode, verb).toBe(1);
      expect(r.json.error.code, verb).toBe('dataset_not_found');
      expect(r.json.error.hint, verb).toContain('push --create');
    }
    const clone = await json<ErrorJson>(['clone', `${hub.url}/todso`, box.path('c.db')]);
    expect(clone.exitCode).toBe(1);
    expect(clone.json.error.code).toBe('dataset_not_found');
    expect(existsSync(box.path('c.db'))).toBe(false);
    expect(readdirSync(box.path('hub'))).toEqual([]);

    const created = await run(['push', '--create', '-d', a]);
    expect(created.exitCode, created.stderr).toBe(0);
    // Normal output says that a dataset was made.
    expect(created.stdout).toContain(`created dataset ${hub.url}/todso`);
    expect(readdirSync(box.path('hub'))).toContain('todso.db');
    // --create on a dataset that exists just pushes.
    const again = await json<{ created: boolean; sent: number }>(['push', '--create', '-d', a]);
    expect(again.json).toMatchObject({ created: false, sent: 0 });
  });

  it('a file remote is created only by push --create', async () => {
    const a = box.path('a.db');
    await replica(a);
    await run(['remote', 'add', 'peer', box.path('peer.db'), '-d', a]);
    const r = await json<ErrorJson>(['push', 'peer', '-d', a]);
    expect(r.exitCode).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'dataset_not_found', hint: expect.stringContaining('push --create') });
    expect(existsSync(box.path('peer.db'))).toBe(false);
    const ok = await json<{ created: boolean; sent: number }>(['push', 'peer', '--create', '-d', a]);
    expect(ok.json).toMatchObject({ created: true, sent: 2 });
  });
});
