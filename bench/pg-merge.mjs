#!/usr/bin/env node
// The PostgreSQL hub store's merge against the SQLite hub's applier, on the same pages:
//   node bench/pg-merge.mjs [--pages 500] [--page-size 2000]
// Builds pages of a synthetic stream (rows of 4 cells: text, integer, real, text, from one
// site), then times, page by page: SQLite's ChangeApplier on a fresh replica (cr-sqlite's merge,
// src/db/changes/apply.ts), and mergePage into an empty dataset of a throwaway PostgreSQL
// cluster, each in its own transaction; then the same pages again into both (every change loses).
// Prints ms/page (median and mean) and the ratio. Needs `npm run build` (it runs dist/).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPgCluster } from '../scripts/pg-cluster.mjs';
import { openStore } from '../dist/db/store.js';
import { ChangeApplier } from '../dist/db/changes/apply.js';
import { CELLS_DDL } from '../dist/server/pg/cells.js';
import { mergePage } from '../dist/server/pg/merge.js';

const { values } = parseArgs({ options: { pages: { type: 'string' }, 'page-size': { type: 'string' } } });
const PAGES = Number(values.pages ?? 500);
const PAGE_SIZE = Number(values['page-size'] ?? 2000);
const COLS = ['name', 'n', 'x', 'note'];
const SITE = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** crsql_pack_columns of one integer key. */
function packInt(v) {
  const bytes = [];
  for (let x = BigInt(v); x !== 0n && x !== -1n; x >>= 8n) bytes.unshift(Number(x & 0xffn));
  if (bytes.length === 0 || (bytes[0] & 0x80) !== 0) bytes.unshift(0);
  return Buffer.from([1, 1 | (bytes.length << 3), ...bytes]);
}

function makePages() {
  const pages = [];
  let row = 0;
  for (let p = 0; p < PAGES; p++) {
    const changes = [];
    const version = BigInt(p + 1);
    for (let i = 0; i < PAGE_SIZE; i++) {
      const c = i % COLS.length;
      if (c === 0) row++;
      const val = c === 0 ? `name ${row}` : c === 1 ? BigInt(row * 7) : c === 2 ? row / 4 : `note ${row} ${'x'.repeat(row % 40)}`;
      changes.push(['t', packInt(row), COLS[c], val, 1n, version, SITE, 1n, BigInt(i)]);
    }
    pages.push(changes);
  }
  return pages;
}

const copy = (changes) => changes.map((c) => [...c]);
const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], mean: ms.reduce((a, b) => a + b, 0) / ms.length };
};

async function main() {
  const pages = makePages();
  const dir = mkdtempSync(join(tmpdir(), 'crsync-bench-pg-'));
  const cluster = await startPgCluster();
  const client = new pg.Client({ connectionString: cluster.url });
  try {
    await client.connect();
    await client.query(CELLS_DDL);
    const store = openStore(join(dir, 'hub.db'), { create: true });
    store.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, name TEXT, n INTEGER, x REAL, note TEXT); SELECT crsql_as_crr(\'t\');');
    const applier = new ChangeApplier(store.db, { peerSite: SITE, remote: null, knownToPeer: () => true, reportedBy: SITE });
    let version = 0n;
    const results = {};
    for (const pass of ['empty', 'all lose']) {
      const lite = [];
      const ours = [];
      for (const page of pages) {
        let t = performance.now();
        applier.apply(copy(page));
        lite.push(performance.now() - t);
        t = performance.now();
        await client.query('BEGIN');
        const r = await mergePage(client, { dataset: 1n, version: version + 1n, pusher: SITE, seen: version, changes: copy(page), pkColumns: () => ['id'] });
        await client.query('COMMIT');
        if (r.applied > 0) version++;
        ours.push(performance.now() - t);
      }
      results[pass] = { sqlite: stats(lite), postgres: stats(ours) };
    }
    store.close();
    const n = PAGES * PAGE_SIZE;
    console.log(`${n.toLocaleString('en')} changes in ${PAGES} pages of ${PAGE_SIZE}: ms/page (median / mean)`);
    for (const [pass, r] of Object.entries(results)) {
      const f = (s) => `${s.median.toFixed(1)} / ${s.mean.toFixed(1)}`;
      console.log(`  into ${pass.padEnd(9)} sqlite ${f(r.sqlite).padEnd(14)} postgres ${f(r.postgres).padEnd(14)} postgres speed ${(r.sqlite.mean / r.postgres.mean).toFixed(2)}x sqlite's`);
    }
  } finally {
    await client.end().catch(() => {});
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
