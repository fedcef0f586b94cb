import { copyFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crsyncJson } from '../helpers.js';
import { bulkInsert, makeReplica, ok, peek, rows, sql } from './sync-helpers.js';
import { within } from './live-helpers.js';
import { getJson, pgQuery, storeSandbox } from './store-helpers.js';
import { execa } from 'execa';
import { CLI } from '../helpers.js';

// A hub on PostgreSQL against a hub on SQLite files, on the wire, and the PostgreSQL store's bad days.
const box = storeSandbox('crsync-pgstore-');

const siteOf = (db: string): string => String(peek(db, 'select lower(hex(site_id)) from crsql_site_id where ordinal = 0'));

/** The raw bytes of a pull (no gzip): pages, conflicts, resolutions and the end frame. */
async function pullBytes(url: string, query: string): Promise<{ status: number; hex: string }> {
  const r = await fetch(`${url}/changes?${query}`);
  return { status: r.status, hex: Buffer.from(await r.arrayBuffer()).toString('hex') };
}

describe('a hub on PostgreSQL', () => {
  it('answers byte for byte as a hub on SQLite files for the same history: info, pages, counts, conflicts, refusals (site id aside)', async () => {
    const sq = await box.hub('sqlite');
    const pg = await box.hub('postgres');
    const a = box.path('a.db');
    const b = box.path('b.db');
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.5, x'00ff'), (2, null, 2, 0.0, null), (3, 'three', 3, -2.25, x''), (4, 'four', 4, 4.0, x'01')");
    expect((await crsyncJson(['clone', a, b])).exitCode).toBe(0);
    await sql(a, "update t set name = 'a-one' where id = 1");
    await sql(a, 'delete from t where id = 2');
    await sql(a, "insert into t values (2, 'two again', 22, 2.5, null)");
    await sql(a, 'delete from t where id = 3');
    await sql(b, "update t set name = 'b-one', qty = 'eleven' where id = 1");
    await sql(b, 'update t set qty = 33 where id = 3');
    await sql(b, "insert into t values (5, 'five', 5.0, 5, 'text in a real column')");
    // Each hub gets its own copies of the two replicas (same sites, same clocks): the same history.
    const copies: Record<string, { a: string; b: string }> = {};
    for (const [name, hub] of [['sq', sq], ['pg', pg]] as const) {
      const c = { a: box.path(`a-${name}.db`), b: box.path(`b-${name}.db`) };
      for (const [from, to] of [[a, c.a], [b, c.b]] as const) {
        for (const suffix of ['', '-wal']) if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
      }
      copies[name] = c;
      await ok(['-d', c.a, 'remote', 'add', 'hub', `${hub.url}/same`]);
      await ok(['-d', c.b, 'remote', 'add', 'hub', `${hub.url}/same`]);
      await ok(['-d', c.a, 'push', 'hub', '--create', '--page-size', '3']);
      await ok(['-d', c.b, 'sync', 'hub', '--page-size', '2']);
      await sql(c.a, 'update t set price = price + 1 where id = 4');
      await ok(['-d', c.a, 'sync', 'hub', '--page-size', '3']);
      await ok(['-d', c.b, 'pull', 'hub']);
    }
    const [infoSq, infoPg] = [await getJson(`${sq.url}/v1/datasets/same`), await getJson(`${pg.url}/v1/datasets/same`)];
    expect(infoPg.siteId).not.toBe(infoSq.siteId);
    expect({ ...infoPg, siteId: '' }).toEqual({ ...infoSq, siteId: '' });
    expect(Number(infoPg.dbVersion)).toBeGreaterThan(4);
    const stranger = '00112233445566778899aabbccddeeff';
    for (const site of [stranger, siteOf(a), siteOf(b)]) {
      // A cursor inside a version is one a pull from a site that did not deliver it gave out (the
      // SQLite hub would send the rest of a version the asker delivered itself: no client asks so).
      const mid = site === stranger ? [`site=${site}&since=3&seq=0&pageSize=3`, `site=${site}&since=3&seq=0&count=1`] : [];
      for (const q of [`site=${site}&conflictsAfter=0&resolutionsAfter=0`, `site=${site}&pageSize=2`, `site=${site}&since=3&seq=${2 ** 53 - 1}&pageSize=3`, `site=${site}&count=1`, `site=${site}&since=999`, ...mid]) {
        const [x, y] = [await pullBytes(`${sq.url}/v1/datasets/same`, q), await pullBytes(`${pg.url}/v1/datasets/same`, q)];
        expect({ q, ...y }).toEqual({ q, ...x });
      }
      expect(await getJson(`${pg.url}/v1/datasets/same?site=${site}`)).toMatchObject({ received: (await getJson<{ received: unknown }>(`${sq.url}/v1/datasets/same?site=${site}`)).received });
    }
    // The replicas converged through either hub, to the same rows.
    const all = await rows(copies.sq!.a);
    for (const f of [copies.sq!.b, copies.pg!.a, copies.pg!.b]) expect(await rows(f)).toEqual(all);
  });

  it('refuses to start without PostgreSQL (exit 3), on a database of another store version, or on tables changed by hand; --dir with --store is a usage error', async () => {
    const cluster = await box.cluster();
    const down = await crsyncJson<{ error: { code: string; message: string } }>(['serve', '--store', cluster.urlOf('nosuch').replace(/:\d+\//, ':1/'), '--port', '0']);
    expect([down.exitCode, down.json.error.code]).toEqual([3, 'store_unreachable']);
    const both = await crsyncJson<{ error: { code: string } }>(['serve', '--store', cluster.url, '--dir', box.path('hub'), '--port', '0']);
    expect([both.exitCode, both.json.error.code]).toEqual([2, 'usage']);
    const neither = await crsyncJson<{ error: { code: string; hint: string } }>(['serve', '--port', '0']);
    expect([neither.exitCode, neither.json.error.code]).toEqual([2, 'usage']);
    expect(neither.json.error.hint).toContain('--store postgres://');

    const url = await box.database();
    const first = await box.hub('postgres', { url });
    await first.stop();
    await pgQuery(url, "UPDATE crsync_meta SET value = '99' WHERE key = 'store_version'");
    const other = await crsyncJson<{ error: { code: string; message: string } }>(['serve', '--store', url, '--port', '0']);
    expect([other.exitCode, other.json.error.code]).toEqual([1, 'store_incompatible']);
    expect(other.json.error.message).toContain('store version 99');
    await pgQuery(url, "UPDATE crsync_meta SET value = '1' WHERE key = 'store_version'");
    await pgQuery(url, 'ALTER TABLE crsync_peers DROP COLUMN seen_version');
    await pgQuery(url, 'ALTER TABLE crsync_cells ALTER COLUMN seq TYPE text');
    const tampered = await crsyncJson<{ error: { code: string; message: string } }>(['serve', '--store', url, '--port', '0']);
    expect([tampered.exitCode, tampered.json.error.code]).toEqual([1, 'store_corrupt']);
    expect(tampered.json.error.message).toContain('crsync_peers.seen_version is missing');
    expect(tampered.json.error.message).toContain('crsync_cells.seq is text, not bigint');
  });

  it('names carrying SQL travel as parameters: both stores answer them alike and the tables stay whole', async () => {
    const sq = await box.hub('sqlite');
    const url = await box.database();
    const pg = await box.hub('postgres', { url });
    const evil = `t"; DROP TABLE crsync_cells; --`;
    const answers = [];
    for (const hub of [sq, pg]) {
      const post = (tables: unknown): Promise<Response> =>
        fetch(`${hub.url}/v1/datasets/evil/schema`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: 1, tables }) });
      const r1 = await post([{ name: evil, columns: [{ name: "id'); DELETE FROM crsync_datasets; --", type: 'INTEGER', notnull: true, dflt: null, pk: 1 }] }]);
      const r2 = await post([{ name: 'ok', columns: [{ name: 'id', type: 'INTEGER', notnull: true, dflt: "'x'); DROP TABLE crsync_meta; --", pk: 1 }] }]);
      answers.push([r1.status, await r1.text(), r2.status, (await r2.json() as { error: { code: string } }).error.code]);
    }
    expect(answers[1]).toEqual(answers[0]);
    const tables = await pgQuery(url, "SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('crsync_cells', 'crsync_meta', 'crsync_datasets')");
    expect(tables).toEqual([{ n: 3 }]);
    // The PostgreSQL hub still serves: a dataset pushed after the attempts arrives whole.
    const a = box.path('a.db');
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.0, null)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${pg.url}/after`]);
    expect(await ok(['-d', a, 'push', '--create'])).toMatchObject({ sent: 4 });
  });

  it('PostgreSQL lost mid-push and back: the client retries, the push resumes, nothing is half-applied', async () => {
    const url = await box.database();
    const hub = await box.hub('postgres', { url });
    const cluster = await box.cluster();
    const a = box.path('a.db');
    await makeReplica(a, 'create table t (id integer primary key not null, name text, qty integer)');
    await sql(a, bulkInsert(6000));
    await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/big`]);
    // Retries long enough to outlast the server's restart.
    const push = execa('node', [CLI, '-d', a, 'push', '--create', '--page-size', '200', '--json'], { env: { NO_COLOR: '1', CRSYNC_RETRIES: '10', CRSYNC_RETRY_DELAY_MS: '200' }, reject: false });
    await within(30_000, async () => Number((await pgQuery(url, 'SELECT coalesce(max(version), 0) AS v FROM crsync_datasets'))[0]!.v) > 2);
    cluster.kill();
    await new Promise((r) => setTimeout(r, 1500));
    cluster.start();
    const done = await push;
    expect(done.exitCode, done.stdout + done.stderr).toBe(0);
    // Every version holds one whole page of 200 changes, numbered without a gap.
    const [r] = await pgQuery(url, 'SELECT count(*)::int AS n, count(DISTINCT db_version)::int AS versions, max(db_version)::int AS top FROM crsync_cells');
    expect(r).toEqual({ n: 12_000, versions: 60, top: 60 });
    const b = box.path('b.db');
    await ok(['clone', `${hub.url}/big`, b]);
    const digest = 'select count(*) as n, sum(id) as ids, sum(qty) as qty from t';
    expect(await rows(b, digest)).toEqual(await rows(a, digest));
  });
});
