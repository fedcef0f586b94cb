import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeReplica, ok, rows, run, sql } from './sync-helpers.js';
import Database from 'better-sqlite3';
import { PK1, call, codec, pushBody, rawExchange } from './hostile-helpers.js';
import { STORES, storeSandbox, type StoreKind } from './store-helpers.js';
import { datasetState, sharedHub } from './store-state.js';

// Hostile payloads that used to crash, stall or brick a hub (issue 14): each is refused with a
// 4xx quickly, the hub keeps answering, and the dataset stays usable. Clocks and schemas are the
// store's business and run on both stores; decoding, HTTP and client-side holes are settled
// before any store is involved and run on SQLite only.

const box = storeSandbox('crsync-hostile-input-');
const site = randomBytes(16);
const FRAMES = { 'content-type': 'application/vnd.crsync.frames+msgpack' };

/** A hub on `kind` with dataset shop pushed by a.db, for the calling describe block. */
function withShop(kind: StoreKind) {
  const shared = sharedHub(box, kind, 'crsync-hostile-input-');
  beforeAll(async () => {
    const a = shared.path('a.db');
    await makeReplica(a);
    await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
    await ok(['-d', a, 'remote', 'add', 'origin', `${shared.hub.url}/shop`]);
    await ok(['-d', a, 'push', '--create']);
  }, 30_000);
  const base = () => `${shared.hub.url}/v1/datasets`;
  return {
    get hub() {
      return shared.hub;
    },
    path: shared.path,
    base,
    state: () => datasetState(shared.hub, 'shop'),
    push: (body: Buffer, headers: Record<string, string> = {}) => call(`${base()}/shop/changes`, { method: 'POST', body, headers: { ...FRAMES, ...headers } }),
  };
}
type Shop = ReturnType<typeof withShop>;

/** Peak resident memory of the hub process so far, in MiB (Linux). */
function hubPeakMiB(shop: Shop): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${shop.hub.proc.pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** A frame holding a page whose one change's value is `depth` arrays deep. */
function deepPage(depth: number): Buffer {
  const head = Buffer.from([0x96, 0xa1, 0x70, 0x91, 0xa1, 0x74, 0x91, 0xc4, 16, ...site, 0x91, 0x99, 0xc4, 3, 1, 9, 1, 0xa4, ...Buffer.from('name')]);
  const tail = Buffer.from([0xc0, 1, 1, 0, 1, 0, 1, 0]);
  const payload = Buffer.concat([head, Buffer.alloc(depth, 0x91), tail]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}

describe('a hub on sqlite', () => {
  const shop = withShop('sqlite');

  describe('decoding is bounded before anything is built', () => {
    it('a 31 KB gzipped page nested 32 million arrays deep is refused at once; health answers meanwhile', async () => {
      const before = await shop.state();
      const body = gzipSync(Buffer.concat([codec.encodeHeader({ site, schemaHash: 'x', seen: 0n }), deepPage(32_000_000)]), { level: 9 });
      expect(body.length).toBeLessThan(64 * 1024);
      const started = Date.now();
      const answer = shop.push(body, { 'content-encoding': 'gzip' });
      const health = await call(`${shop.hub.url}/v1/health`);
      const a = await answer;
      expect({ status: a.status, code: a.json.error?.code }).toEqual({ status: 400, code: 'bad_stream' });
      expect(health.status).toBe(200);
      // Was 58 s and a heap-out-of-memory crash; gunzip of 32 MB and a scan take well under this.
      expect(Date.now() - started).toBeLessThan(10_000);
      // Was 4.5 GB: the 32 MB frame itself is all it holds.
      expect(hubPeakMiB(shop)).toBeLessThan(400);
      expect(await shop.state()).toEqual(before);
    });

    it('lying lengths and nested maps are refused with bad_stream', async () => {
      const header = codec.encodeHeader({ site, schemaHash: 'x', seen: 0n });
      const frame = (payload: number[]): Buffer => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(payload.length);
        return Buffer.concat([len, Buffer.from(payload)]);
      };
      const cases: [string, number[]][] = [
        ['an array claiming 4 billion rows', [0x96, 0xa1, 0x70, 0x90, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff, 0, 0]],
        ['a string claiming 4 GiB', [0x96, 0xa1, 0x70, 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x90, 0x90, 0, 0]],
        ['a map as a change field', [0x96, 0xa1, 0x70, 0x90, 0x90, 0x91, 0x99, 0x81, 0xa1, 0x61, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
        ['a conflict record nested', [0x93, 0xa1, 0x63, 0x91, 0x81, 0xa1, 0x61, 0x91, 0x91, 0x90, 0]],
        ['a header with an array field', [0x94, 0xa1, 0x68, 0x91, 0x90, 0xa1, 0x78, 0]],
      ];
      for (const [what, payload] of cases) {
        const a = await shop.push(Buffer.concat([header, frame(payload)]));
        expect({ what, status: a.status, code: a.json.error?.code }).toEqual({ what, status: 400, code: 'bad_stream' });
      }
      expect((await call(`${shop.base()}/shop`)).status).toBe(200);
    });
  });

  describe('smaller holes', () => {
    it('a bare ".." dataset is 400; headers over 16 KiB are 431', async () => {
      for (const path of ['/v1/datasets/..', '/v1/datasets/%2e%2e', '/v1/datasets/../changes', '/v1/datasets/.']) {
        const r = await rawExchange(shop.hub.url, `GET ${path} HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n`);
        expect({ path, status: r.status, code: r.json?.error?.code }).toEqual({ path, status: 400, code: 'bad_request' });
      }
      for (const size of [17_000, 18_900]) {
        const r = await rawExchange(shop.hub.url, `GET /v1/health HTTP/1.1\r\nhost: hub\r\nx-pad: ${'p'.repeat(size)}\r\n\r\n`);
        expect({ size, status: r.status }).toEqual({ size, status: 431 });
      }
      const fine = await rawExchange(shop.hub.url, `GET /v1/health HTTP/1.1\r\nhost: hub\r\nconnection: close\r\nx-pad: ${'p'.repeat(15_000)}\r\n\r\n`);
      expect(fine.status).toBe(200);
    });

    it('a clone URL with a malformed host never echoes the token', async () => {
      for (const url of ['http://user:s3cr3t-token@[bad/shop', 'http://user:s3cr3t/token@host:99999/shop', 'http://x@s3cr3t-token@ho st/shop']) {
        const r = await run(['clone', url, shop.path('never.db')]);
        expect({ url, exit: r.exitCode }).toEqual({ url, exit: 2 });
        expect(r.stdout + r.stderr).not.toContain('s3cr3t');
      }
    });

    it('a crsync sql script that reads then writes waits for another writer instead of failing "database is locked"', async () => {
      const a = shop.path('a.db');
      await sql(a, 'create table if not exists plain (x)');
      const other = new Database(a);
      other.exec('begin immediate; insert into plain values (1)');
      const script = run(['-d', a, 'sql', "select count(*) from t; update t set qty = qty + 1 where id = 1"]);
      await new Promise((r) => setTimeout(r, 2500));
      other.exec('commit');
      other.close();
      const r = await script;
      expect({ exit: r.exitCode, locked: /locked/.test(r.stderr) }).toEqual({ exit: 0, locked: false });
    });
  });
});

describe.each(STORES)('a hub on %s', (kind) => {
  const shop = withShop(kind);

  describe('clocks stay sane whatever a client sends', () => {
    const dbVersionOf = async (): Promise<bigint> => BigInt((await call(`${shop.base()}/shop`)).json.dbVersion as string);

    it('a db_version of 2^53 - 1 cannot drag the hub clock: later pushes, pulls and clones work', async () => {
      const before = await dbVersionOf();
      const forged = shop.push(pushBody(site, [['t', PK1, 'qty', 42n, 5n, 2n ** 53n - 1n, site, 1n, 0n]]));
      expect((await forged).status).toBe(200);
      // The merge took the hub's next version, not the one sent (it was 2^53 - 1, and the next push broke the dataset).
      expect(await dbVersionOf()).toBe(before + 1n);
      const a = shop.path('a.db');
      await sql(a, "update t set name = 'after' where id = 2");
      await ok(['-d', a, 'sync']);
      const c = shop.path('c.db');
      await ok(['clone', `${shop.hub.url}/shop`, c]);
      expect(await rows(c)).toEqual(await rows(a));
      expect(await dbVersionOf()).toBeLessThan(before + 10n);
    });

    it('col_version and cl at the ceiling, and row markers whose version is not their causal length, are refused', async () => {
      const before = await shop.state();
      const ceiling = 2n ** 53n - 1n - 2n ** 32n;
      const cases: [string, Parameters<typeof pushBody>[1]][] = [
        ['col_version 2^53 - 1 (locked the cell, then jammed its owner)', [['t', PK1, 'name', 'mine', 2n ** 53n - 1n, 1n, site, 1n, 0n]]],
        ['col_version just over the ceiling', [['t', PK1, 'name', 'mine', ceiling + 1n, 1n, site, 1n, 0n]]],
        ['a delete with causal length 2^53 - 2', [['t', PK1, '-1', null, 2n ** 53n - 2n, 1n, site, 2n ** 53n - 2n, 0n]]],
        ['a delete marker with col_version 1 and cl 2 (deleted the row on the hub alone)', [['t', PK1, '-1', null, 1n, 1n, site, 2n, 0n]]],
        ['a marker with col_version 4 and cl 3', [['t', PK1, '-1', null, 4n, 1n, site, 3n, 0n]]],
      ];
      for (const [what, changes] of cases) {
        const a = await shop.push(pushBody(site, changes));
        expect({ what, status: a.status, code: a.json.error?.code }).toEqual({ what, status: 400, code: 'bad_change' });
      }
      expect(await shop.state()).toEqual(before);
      // The owner of the row still edits and pushes it.
      const a = shop.path('a.db');
      await sql(a, "update t set name = 'still mine' where id = 1");
      expect((await ok(['-d', a, 'push', '--create'])).sent).toBeGreaterThan(0);
      const d = shop.path('d.db');
      await ok(['clone', `${shop.hub.url}/shop`, d]);
      expect(await rows(d, 'select name from t where id = 1')).toEqual([{ name: 'still mine' }]);
    });
  });

  describe('schema requests are bounded and declare plain types', () => {
    const schemaOf = async () => (await call(`${shop.base()}/shop`)).json.schema as { version: number; tables: { name: string; columns: unknown[] }[] };
    const postSchema = (body: unknown) => call(`${shop.base()}/shop/schema`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const table = (name: string, type = 'TEXT', columns = 1) => ({
      name,
      columns: [{ name: 'id', type: 'INTEGER', notnull: true, dflt: null, pk: 1 }, ...Array.from({ length: columns }, (_, i) => ({ name: `c${i}`, type, notnull: false, dflt: null, pk: 0 }))],
    });

    it('600 or 3000 tables, or a table of 600 columns, are refused at once (413) and the dataset stays usable', async () => {
      const s = await schemaOf();
      const before = await shop.state();
      for (const [what, extra] of [['600 tables (bricked the dataset)', 600], ['3000 tables (blocked the hub 25 s)', 3000]] as const) {
        const started = Date.now();
        const a = await postSchema({ version: s.version, tables: [...s.tables, ...Array.from({ length: extra }, (_, i) => table(`x${i}`))] });
        expect({ what, status: a.status, code: a.json.error?.code }).toEqual({ what, status: 413, code: 'schema_too_large' });
        expect(Date.now() - started).toBeLessThan(3000);
      }
      const wide = await postSchema({ version: s.version, tables: [...s.tables, table('wide', 'TEXT', 600)] });
      expect({ status: wide.status, code: wide.json.error?.code }).toEqual({ status: 413, code: 'schema_too_large' });
      expect(await shop.state()).toEqual(before);
      expect((await call(`${shop.base()}/shop`)).status).toBe(200);
      expect((await ok(['-d', shop.path('a.db'), 'pull'])).received).toBe(0);
    });

    it('a column type carrying a constraint or a generated column is refused; plain types with sizes are taken', async () => {
      const s = await schemaOf();
      for (const type of ['TEXT CHECK (c0 IN (1,2,3))', 'INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL', 'TEXT NOT NULL', 'TEXT COLLATE NOCASE', 'INT REFERENCES t', 'TEXT UNIQUE', "TEXT DEFAULT 'x'", 'INT);DROP TABLE t;--']) {
        const a = await postSchema({ version: s.version, tables: [...s.tables, table('smuggled', type)] });
        expect({ type, status: a.status, code: a.json.error?.code }).toEqual({ type, status: 400, code: 'bad_request' });
      }
      const plain = [table('p1', 'VARCHAR(20)'), table('p2', 'NUMERIC(10,2)'), table('p3', ''), table('p4', 'UNSIGNED BIG INT')];
      const a = await postSchema({ version: s.version, tables: [...s.tables, ...plain] });
      expect(a.status).toBe(200);
      expect((await schemaOf()).tables.map((t) => t.name)).toEqual(expect.arrayContaining(['p1', 'p2', 'p3', 'p4']));
    });
  });
});
