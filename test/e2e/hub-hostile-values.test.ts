import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/sync/protocol/types.js';
import { call, codec, pushBody } from './hostile-helpers.js';
import { makeReplica, ok, rows, sql } from './sync-helpers.js';
import { storeSandbox, type StoreKind } from './store-helpers.js';

// Hand-made values that a column's declared type converts (SQLite's affinity: a TEXT '12' into
// an INTEGER column is stored as 12): a hub on PostgreSQL stores and serves them as the SQLite
// hub does, ties included (cr-sqlite compares the value as it came with the stored one).

const box = storeSandbox('crsync-hostile-values-');
const FRAMES = { 'content-type': 'application/vnd.crsync.frames+msgpack' };
const [A, B] = [Buffer.alloc(16, 0xa1), Buffer.alloc(16, 0xb2)];
const pk = (n: number) => Buffer.from([1, 9, n]);
const ch = (site: Buffer, n: number, cid: string, v: Change[3], cv = 1n): Change => ['t', pk(n), cid, v, cv, 1n, site, 1n, 0n];

/** Pushes, one page each, in order; then what a stranger's pull carries of A's and B's cells. */
async function served(kind: StoreKind, pages: Change[][]): Promise<{ statuses: number[]; cells: string[]; rows: unknown[] }> {
  const h = await box.hub(kind);
  const a = box.path(`a-${kind}.db`);
  await makeReplica(a);
  await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01')");
  await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  const statuses: number[] = [];
  for (const page of pages) {
    statuses.push((await call(`${h.url}/v1/datasets/shop/changes`, { method: 'POST', body: pushBody(Buffer.from(page[0]![6]), page), headers: FRAMES })).status);
  }
  const r = await fetch(`${h.url}/v1/datasets/shop/changes?site=${randomBytes(16).toString('hex')}&pageSize=1000`);
  const cells: string[] = [];
  for await (const f of codec.readFrames((async function* () { yield new Uint8Array(await r.arrayBuffer()); })())) {
    if (f.type !== 'page') continue;
    for (const c of f.page.changes) {
      const site = Buffer.from(c[6]);
      if (!site.equals(A) && !site.equals(B)) continue;
      const v = c[3] instanceof Uint8Array ? `blob ${Buffer.from(c[3]).toString('hex')}` : `${typeof c[3]} ${String(c[3])}`;
      cells.push(`${Buffer.from(c[1]).toString('hex')} ${c[2]} ${v} cv ${c[4]} by ${site.equals(A) ? 'A' : 'B'}`);
    }
  }
  const b = box.path(`b-${kind}.db`);
  await ok(['clone', '--no-snapshot', `${h.url}/shop`, b]);
  return { statuses, cells: cells.sort(), rows: await rows(b, 'select id, name, typeof(name), qty, typeof(qty), price, typeof(price), data, typeof(data) from t order by id') };
}

describe('hand-made values get their column affinity on both stores', () => {
  it('the PostgreSQL hub serves what the SQLite hub serves: converted values, the same tie winners', async () => {
    const converting: [string, Change[3]][] = [
      ['qty', '12'], ['qty', 3.0], ['qty', ' 12 '], ['qty', '3.0e+5'], ['qty', '0x10'], ['qty', '1.5'], ['qty', 1e300], ['qty', '12abc'], ['qty', -0], ['qty', Buffer.from('12')],
      ['price', '2'], ['price', 3n], ['price', '1e3'], ['price', 'abc'], ['price', '9223372036854775808'], ['price', 9007199254740993n], ['price', -0], ['price', '1e400'],
      ['name', 12n], ['name', 1.5], ['name', 1e20], ['name', 0.1], ['name', 1 / 3], ['name', 1e16], ['name', 5e-324], ['name', NaN], ['qty', NaN],
      ['data', '7'], ['data', 4n], ['data', 1.25],
    ];
    const pages: Change[][] = [
      converting.map(([cid, v], i) => ch(A, 10 + Math.floor(i / 4), cid, v)),
      // Ties at one col_version: the stored 12 against '12' as it came, 1.5 against '1.5', 'x' against 'x'.
      [ch(A, 2, 'qty', 12n), ch(A, 2, 'name', '1.5'), ch(A, 2, 'price', 2.0)],
      [ch(B, 2, 'qty', '12'), ch(B, 2, 'name', 1.5), ch(B, 2, 'price', '2')],
    ];
    const [sq, pg] = [await served('sqlite', pages), await served('postgres', pages)];
    expect(sq.statuses).toEqual([200, 200, 200]);
    // Some of these were stored as they came on PostgreSQL (text '12' in an INTEGER column).
    expect(sq.cells).toContain('010902 qty bigint 12 cv 1 by A');
    expect(pg).toEqual(sq);
  });
});
