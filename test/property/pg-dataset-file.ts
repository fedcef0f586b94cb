import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pgBinDir } from '../../scripts/pg-cluster.mjs';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { openStore } from '../../src/db/store.js';
import { fromPg } from '../../src/server/pg/values.js';
import type { SqlValue } from '../../src/values.js';
import { SCHEMA, TABLES } from './scenario.js';

/*
 * The oracle's look at a dataset on the PostgreSQL store, straight from crsync's tables: every
 * cell merged (in stream order) into a fresh replica of the scenario's schema, so the rows are
 * what cr-sqlite makes of the store's cells, plus the store's conflict and resolution rows. The
 * oracle reads hub state synchronously (resolutions.ts checks inside a sync callback), so the
 * store is read with psql, one query, its answer one JSON document.
 */

type Kind = 'text' | 'int' | 'bytes';

/** The columns the oracle reads, as both stores name them; ints and bytes travel as text. */
const CONFLICT_COLUMNS: [string, Kind][] = [
  ['id', 'int'], ['tbl', 'text'], ['pk', 'bytes'], ['cid', 'text'], ['kind', 'text'], ['ours', 'text'], ['theirs', 'text'],
  ['winner', 'text'], ['ours_site', 'bytes'], ['theirs_site', 'bytes'], ['ours_col_version', 'int'], ['theirs_col_version', 'int'],
  ['detected_at', 'text'], ['resolved_at', 'text'], ['resolution', 'text'], ['reported_by', 'bytes'], ['resolved_by', 'bytes'],
];
const RESOLUTION_COLUMNS: [string, Kind][] = [
  ['id', 'int'], ['tbl', 'text'], ['pk', 'bytes'], ['cid', 'text'], ['kind', 'text'], ['a_site', 'bytes'], ['a_version', 'int'],
  ['b_site', 'bytes'], ['b_version', 'int'], ['choice', 'text'], ['value', 'text'], ['resolver', 'bytes'], ['written_version', 'int'],
  ['at', 'text'], ['from_site', 'bytes'],
];
/** A cell as crsql_changes takes it; val_* are decoded by values.ts. */
const CELL_COLUMNS: [string, Kind][] = [
  ['tbl', 'text'], ['pk', 'bytes'], ['cid', 'text'], ['val_type', 'int'], ['val_int', 'int'], ['val_real', 'text'], ['val_bytes', 'bytes'],
  ['col_version', 'int'], ['db_version', 'int'], ['site_id', 'bytes'], ['cl', 'int'], ['seq', 'int'],
];

function selectList(cols: [string, Kind][]): string {
  return cols.map(([c, k]) => (k === 'bytes' ? `encode(${c}, 'hex')` : k === 'int' ? `${c}::text` : c)).join(', ');
}

function agg(table: string, cols: [string, Kind][], order: string): string {
  return `(SELECT coalesce(json_agg(json_build_array(${selectList(cols)}) ORDER BY ${order}), '[]'::json) FROM ${table} WHERE dataset = d.id)`;
}

const QUERY = `SELECT json_build_object(
  'cells', ${agg('crsync_cells', CELL_COLUMNS, 'db_version, seq, tbl, pk, cid')},
  'conflicts', ${agg('crsync_conflicts', CONFLICT_COLUMNS, 'id')},
  'resolutions', ${agg('crsync_resolutions', RESOLUTION_COLUMNS, 'id')})
FROM crsync_datasets d WHERE d.name = :'name';
`;

function decode(row: (string | null)[], cols: [string, Kind][]): (string | bigint | Buffer | null)[] {
  return cols.map(([, k], i) => {
    const v = row[i] ?? null;
    if (v === null || k === 'text') return v;
    return k === 'int' ? BigInt(v) : Buffer.from(v, 'hex');
  });
}

/** Runs the query as psql does; the dataset's name is a psql variable, quoted by psql. */
function readStore(url: string, dataset: string): Record<'cells' | 'conflicts' | 'resolutions', (string | null)[][]> | undefined {
  const bin = pgBinDir();
  if (!bin) throw new Error('psql not found: apt-get install postgresql');
  const out = execFileSync(join(bin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-v', `name=${dataset}`, '-d', url], {
    input: QUERY,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }).trim();
  return out === '' ? undefined : JSON.parse(out);
}

/**
 * Writes `<dir>/<dataset>.db` from the store's current state and returns its path (undefined:
 * no such dataset). The file is made anew on every call.
 */
export function writeDatasetFile(url: string, dataset: string, dir: string): string | undefined {
  const state = readStore(url, dataset);
  if (!state) return undefined;
  const file = join(dir, `${dataset}.db`);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  initReplica(file);
  const store = openStore(file);
  try {
    const db = store.db;
    for (const ddl of SCHEMA) db.exec(ddl);
    trackTables(store, Object.keys(TABLES));
    const insertCell = db.prepare('INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insertInto = (table: string, cols: [string, Kind][]) =>
      db.prepare(`INSERT INTO ${table} (${cols.map(([c]) => c).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    const conflict = insertInto('crsync_conflicts', CONFLICT_COLUMNS);
    const resolution = insertInto('crsync_resolutions', RESOLUTION_COLUMNS);
    db.transaction(() => {
      for (const row of state.cells) {
        const [tbl, pk, cid, type, int, real, bytes, ...rest] = decode(row, CELL_COLUMNS);
        const val: SqlValue = fromPg(Number(type), int === null ? null : String(int), real === null ? null : Number(real), bytes as Buffer | null);
        insertCell.run(tbl, pk, cid, val, ...rest);
      }
      for (const row of state.conflicts) conflict.run(...decode(row, CONFLICT_COLUMNS));
      for (const row of state.resolutions) resolution.run(...decode(row, RESOLUTION_COLUMNS));
    })();
    // A rollback journal, so the oracle's read-only opens need no -wal or -shm beside it.
    db.pragma('journal_mode = DELETE');
  } finally {
    store.close();
  }
  return file;
}
