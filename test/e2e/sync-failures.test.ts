import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeReplica, ok, peek, runJson, sandbox, sql } from './sync-helpers.js';

const tmp = sandbox('crsync-failures-');

describe('failures a user sees', () => {
  it('an unreachable remote exits 3 and local edits still work', async () => {
    const h = await tmp.hub();
    const url = h.url;
    await h.stop();
    const a = tmp.path('a.db');
    await makeReplica(a);
    await ok(['-d', a, 'remote', 'add', 'origin', `${url}/shop`]);
    for (const verb of ['push', 'pull', 'sync']) {
      const r = await runJson<{ error: { code: string; message: string } }>(['-d', a, verb]);
      expect(r.exitCode, verb).toBe(3);
      expect(r.json.error.code).toBe('remote_unreachable');
    }
    const clone = await runJson<{ error: { code: string } }>(['clone', `${url}/shop`, tmp.path('c.db')]);
    expect(clone.exitCode).toBe(3);
    await sql(a, "insert into t (id, name) values (1, 'offline')");
    expect(await ok(['-d', a, 'sql', 'select id, name from t'])).toEqual([{ id: 1, name: 'offline' }]);
  });

  it('a schema mismatch exits 5 naming the column, and moves nothing', async () => {
    const h = await tmp.hub();
    const [a, b] = [tmp.path('a.db'), tmp.path('b.db')];
    await makeReplica(a);
    await sql(a, "insert into t (id, name) values (1, 'a')");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
    await makeReplica(b, 'create table t (id integer primary key not null, name text, qty text, price real, data blob)');
    await sql(b, "insert into t (id, name) values (2, 'b')");
    await ok(['-d', b, 'remote', 'add', 'origin', `${h.url}/shop`]);
    for (const verb of ['push', 'pull', 'sync']) {
      const r = await runJson<{ error: { code: string; message: string } }>(['-d', b, verb]);
      expect(r.exitCode, verb).toBe(5);
      expect(r.json.error.code).toBe('schema_mismatch');
      expect(r.json.error.message).toMatch(/table t, column 3: local has qty TEXT, remote has qty INTEGER/);
    }
    expect(await ok(['-d', tmp.path('hub/shop.db'), 'sql', 'select id from t'])).toEqual([{ id: 1 }]);
    expect(await ok(['-d', b, 'sql', 'select id from t'])).toEqual([{ id: 2 }]);
  });

  it('tokens: a wrong or missing token and a read-only push exit 4; the token is never stored', async () => {
    const tokens = tmp.path('tokens.txt');
    writeFileSync(tokens, '# hub tokens\nsecret-rw read-write\nsecret-ro read\nsecret-other read-write other\n');
    const h = await tmp.hub('hub', ['--tokens', tokens]);
    const [a, b] = [tmp.path('a.db'), tmp.path('b.db')];
    await makeReplica(a);
    await sql(a, "insert into t (id, name) values (1, 'a')");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`, '--token-env', 'SHOP_TOKEN']);

    const refused = async (env: Record<string, string>, code: string, hint?: string) => {
      const r = await runJson<{ error: { code: string; message: string; hint: string } }>(['-d', a, 'push', '--create'], env);
      expect(r.exitCode, JSON.stringify(env)).toBe(4);
      expect(r.json.error.code).toBe(code);
      if (hint !== undefined) expect(r.json.error.hint).toBe(hint);
    };
    // The hints name the variable to set, not the HTTP header the hub's own answer speaks of.
    await refused({}, 'auth_failed', "set SHOP_TOKEN (the remote's --token-env)");
    await refused({ SHOP_TOKEN: 'wrong' }, 'auth_failed', "the token is not one the hub knows: check SHOP_TOKEN (the remote's --token-env)");
    await refused({ SHOP_TOKEN: 'secret-ro' }, 'forbidden');
    await refused({ SHOP_TOKEN: 'secret-other' }, 'forbidden');
    // The token in the default variable is not the one the remote names.
    await refused({ CRSYNC_TOKEN: 'secret-rw' }, 'auth_failed');
    const inUrl = await runJson(['-d', a, 'remote', 'add', 'leaky', h.url.replace('//', '//user:secret-rw@') + '/shop']);
    expect(inUrl.exitCode).toBe(2);
    expect(peek(tmp.path('a.db'), 'select count(*) from crsync_remotes')).toBe(1);
    expect(existsSync(tmp.path('hub/shop.db'))).toBe(false);

    expect((await ok(['-d', a, 'push', '--create'], { SHOP_TOKEN: 'secret-rw' })).sent).toBe(4);
    const noToken = await runJson<{ error: { code: string; hint: string } }>(['clone', `${h.url}/shop`, b]);
    expect([noToken.exitCode, noToken.json.error.code, noToken.json.error.hint]).toEqual([4, 'auth_failed', "set CRSYNC_TOKEN (or the remote's --token-env)"]);
    expect(existsSync(b)).toBe(false);
    expect((await ok(['clone', `${h.url}/shop`, b], { CRSYNC_TOKEN: 'secret-ro' })).received).toBe(4);
    await sql(b, "update t set name = 'b' where id = 1");
    const ro = await runJson<{ error: { code: string } }>(['-d', b, 'push'], { CRSYNC_TOKEN: 'secret-ro' });
    expect(ro.exitCode).toBe(4);
    expect((await ok(['-d', b, 'pull'], { CRSYNC_TOKEN: 'secret-ro' })).received).toBe(0);
    const raw = [a, b].map((f) => readFileSync(f).toString('latin1')).join('');
    expect(raw).not.toContain('secret-');
  });
});
