import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPgCluster, type PgCluster } from '../../scripts/pg-cluster.mjs';
import { openStore, dbVersion, type Store } from '../../src/db/store.js';
import { ServedReplica } from '../../src/sync/endpoint.js';
import type { DetectedConflict } from '../../src/db/conflicts/detect.js';
import { jsonSide } from '../../src/db/conflicts/detect.js';
import { stringifySqlJson } from '../../src/values.js';
import type { Change } from '../../src/sync/protocol/types.js';
import { CELLS_DDL } from '../../src/server/pg/cells.js';
import { mergePage, type MergeResult } from '../../src/server/pg/merge.js';
import { countAfter, readPage } from '../../src/server/pg/stream.js';
import { tempDir } from '../helpers.js';
import { COLUMNS, PK_COLUMNS, SCHEMA, Site, changeKey, copyChanges, rng, type Rng } from './merge-world.js';

/*
 * cr-sqlite itself is the reference: the same pushes, cut into the same pages, go to a SQLite
 * hub (ServedReplica's push applier: the real merge and ConflictDetector) and into the
 * PostgreSQL cells (mergePage); after every page both must hold the same cells, clocks and
 * versions, have found the same conflicts, and stream the same changes to every site.
 */

const SEEDS = 40;
const STEPS = 80;

type Found = Omit<DetectedConflict, 'id'>;

/** A conflict as comparable text (its recorded form: values in crsync JSON). */
function conflictKey(c: Found): string {
  const hex = (b: Uint8Array | null): string => (b ? Buffer.from(b).toString('hex') : '-');
  return [c.table, hex(c.pk), c.cid, c.kind, stringifySqlJson(jsonSide(c.ours)), stringifySqlJson(jsonSide(c.theirs)), c.winner, hex(c.oursSite), hex(c.theirsSite), c.oursColVersion, c.theirsColVersion].join('|');
}

/** ConflictStore.record's "same pair of writes" (the SQLite hub records each once). */
function pairKeys(c: Found): string[] {
  const hex = (b: Uint8Array | null): string => (b ? Buffer.from(b).toString('hex') : '-');
  const head = `${c.table}|${hex(c.pk)}`;
  if (c.kind === 'delete_update') return [`${head}|lives|${c.oursColVersion}|${c.theirsColVersion}`, `${head}|lives|${c.theirsColVersion}|${c.oursColVersion}`];
  return [`${head}|${c.cid}|${c.oursColVersion}|${c.theirsColVersion}|${hex(c.oursSite)}|${hex(c.theirsSite)}`, `${head}|${c.cid}|${c.theirsColVersion}|${c.oursColVersion}|${hex(c.theirsSite)}|${hex(c.oursSite)}`];
}

interface Hubs {
  served: ServedReplica;
  store: Store;
  client: pg.Client;
  dataset: bigint;
  pgVersion: bigint;
  recorded: Set<string>;
  stats: { pages: number; changes: number; conflicts: number; kinds: Set<string> };
}

async function pgMerge(h: Hubs, site: Site, seen: bigint, changes: Change[]): Promise<MergeResult> {
  await h.client.query('BEGIN');
  try {
    const r = await mergePage(h.client, {
      dataset: h.dataset, version: h.pgVersion + 1n, pusher: site.id, seen, changes,
      pkColumns: (t) => PK_COLUMNS[t]!, columns: (t) => COLUMNS[t]!,
    });
    await h.client.query('COMMIT');
    if (r.applied > 0) h.pgVersion++;
    return r;
  } catch (err) {
    await h.client.query('ROLLBACK');
    throw err;
  }
}

/** One push of a site's unpushed stream, in random pages, to both hubs; compared page by page. */
async function push(h: Hubs, site: Site, r: Rng): Promise<void> {
  // A hub refuses col_version 0 (zeroed cells of a half-pulled resurrection): a real client's
  // push would be refused too, so such cells stay out of both sides.
  const all = site.unpushed().filter((c) => c[4] > 0n);
  // cr-sqlite merges changes in any order: some pushes come shuffled (a column change before
  // its row's sentinel, a delete after a later life...).
  if (r.next() < 0.3) {
    for (let i = all.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
  }
  const seen = site.pulled.version;
  const apply = h.served.pushApplier(site.id, seen);
  for (let at = 0; at < all.length; ) {
    const page = all.slice(at, (at += 1 + r.int(r.pick([3, 20, 200]))));
    const last = page[page.length - 1]!;
    const lite = apply({ changes: copyChanges(page), cursor: { version: last[5], seq: last[8] } });
    const ours = await pgMerge(h, site, seen, copyChanges(page));
    expect(h.pgVersion, 'the hub version after a page').toBe(dbVersion(h.store.db));
    const fresh = ours.conflicts.filter((c) => {
      const [k1, k2] = pairKeys(c);
      if (h.recorded.has(k1!) || h.recorded.has(k2!)) return false;
      h.recorded.add(k1!);
      return true;
    });
    expect(fresh.map(conflictKey).sort(), 'conflicts of a page').toEqual(lite.conflicts.map(conflictKey).sort());
    h.stats.pages++;
    h.stats.changes += page.length;
    h.stats.conflicts += fresh.length;
    for (const c of fresh) h.stats.kinds.add(c.kind);
  }
  site.pushed = site.db.prepare('SELECT crsql_db_version()').pluck().get() as bigint;
}

/** A pull from the SQLite hub, compared with the PostgreSQL stream and count from the same cursor; the site takes a prefix of it. */
async function pull(h: Hubs, site: Site, r: Rng): Promise<void> {
  const pages = [...h.served.pull(h.store.db, site.id, site.pulled, 1 + r.int(50))];
  const lite = pages.flatMap((p) => p.changes);
  const ours = await readPage(h.client, h.dataset, site.pulled, site.id, 1_000_000);
  const sorted = (xs: Change[]): string[] => xs.map((c) => changeKey(c)).sort();
  expect(sorted(ours), 'a pull carries the same changes').toEqual(sorted(lite));
  expect(await countAfter(h.client, h.dataset, site.pulled, site.id)).toBe(lite.length);
  // Stream order: by (db_version, seq) on both sides.
  const pos = (c: Change): [bigint, bigint] => [c[5], c[8]];
  for (let i = 1; i < ours.length; i++) {
    const [a, b] = [pos(ours[i - 1]!), pos(ours[i]!)];
    expect(a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1])).toBe(true);
  }
  if (lite.length > 0) {
    const limit = 1 + r.int(lite.length);
    const firstPage = await readPage(h.client, h.dataset, site.pulled, site.id, limit);
    expect(firstPage.length).toBe(limit);
  }
  const take = pages.slice(0, r.next() < 0.3 ? 1 + r.int(pages.length) : pages.length);
  site.merge(take.flatMap((p) => p.changes));
  if (take.length > 0) site.pulled = take[take.length - 1]!.cursor;
}

async function fullState(h: Hubs): Promise<{ lite: string[]; ours: string[] }> {
  const rows = h.store.db
    .prepare('SELECT "table", pk, cid, val, col_version, db_version, site_id, cl, seq FROM crsql_changes')
    .raw(true)
    .safeIntegers(true)
    .all() as Change[];
  const ours = await readPage(h.client, h.dataset, { version: 0n, seq: -1n }, undefined, 1_000_000);
  return { lite: rows.map((c) => changeKey(c)).sort(), ours: ours.map((c) => changeKey(c)).sort() };
}

describe('the PostgreSQL merge against cr-sqlite', () => {
  let cluster: PgCluster;
  let client: pg.Client;
  const dirs = tempDir('crsync-pgmerge-');
  const totals = { pages: 0, changes: 0, conflicts: 0, kinds: new Set<string>() };

  beforeAll(async () => {
    cluster = await startPgCluster();
    client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    await client.query(CELLS_DDL);
  });
  afterAll(async () => {
    await client?.end();
    await cluster?.stop();
    dirs.cleanup();
  });

  it(`merges ${SEEDS} seeded histories exactly as cr-sqlite does`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = rng(seed);
      const store = openStore(dirs.path(`hub-${seed}.db`), { create: true });
      store.db.exec(SCHEMA);
      const h: Hubs = { served: new ServedReplica(store, `d${seed}`), store, client, dataset: BigInt(seed), pgVersion: 0n, recorded: new Set(), stats: totals };
      const sites = Array.from({ length: 2 + r.int(3) }, () => new Site());
      try {
        for (let step = 0; step < STEPS; step++) {
          const site = r.pick(sites);
          const what = r.int(10);
          if (what < 5) site.edit(r);
          else if (what < 8) await push(h, site, r);
          else await pull(h, site, r);
        }
        for (const site of sites) await push(h, site, r);
        const state = await fullState(h);
        expect(state.ours, `seed ${seed}: the cells of both hubs`).toEqual(state.lite);
      } finally {
        for (const s of sites) s.close();
        store.close();
      }
    }
    // The histories must have exercised what they are meant to.
    expect(totals.kinds).toEqual(new Set(['update_update', 'delete_update']));
    expect(totals.pages).toBeGreaterThan(SEEDS * 10);
  });
});
