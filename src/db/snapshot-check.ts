import Database from 'better-sqlite3';
import { CrsyncError } from '../errors.js';
import { tokenize } from '../sqltext/lex.js';
import type { ReplicatedSchema } from '../sync/protocol/schema.js';
import { extensionPath } from './extension.js';
import { createTableSql, readReplicatedSchema, tableExists } from './schema/read.js';
import { ensureBookkeeping, getMeta, BOOKKEEPING_VERSION } from './state/bookkeeping.js';
import { clockTables } from './snapshot.js';
import { quoteIdent } from './store.js';

/**
 * What a hub checks of an uploaded snapshot before it becomes a dataset, with plain SQLite (the
 * file is a stranger's: nothing of it runs). The file must hold exactly what crsync itself would
 * create for its replicated tables: those tables with plain columns, cr-sqlite's and crsync's
 * own tables and indexes in their current shape, and no bookkeeping of other sites. The client
 * runs uploadProblems on its copy first, so an honest replica that cannot be sent this way
 * (a CHECK constraint, an index of its own) pushes its change stream instead.
 */

/** Bookkeeping an upload must not carry: records about other sites, or the hub's own. */
export const FOREIGN_BOOKKEEPING = ['crsync_peers', 'crsync_applied', 'crsync_conflicts', 'crsync_remotes', 'crsync_resolutions', 'crsql_tracked_peers', 'crsync_site_owners'];

/** Words that make a replicated table differ from what a schema request creates. */
const CONSTRAINT_WORDS = new Set(['CHECK', 'COLLATE', 'REFERENCES', 'GENERATED', 'UNIQUE', 'AS', 'STRICT']);

const MAX_VERSION = 2n ** 53n - 1n;

function bad(why: string): CrsyncError {
  return new CrsyncError('bad_snapshot', `the uploaded snapshot was refused: ${why}`, { hint: 'push it again; crsync pushes the change stream instead when its replica cannot travel as a snapshot (crsync push --no-snapshot)' });
}

type Shape = Map<string, string>;

/** Each internal table's and index's shape (columns; index keys, uniqueness, partiality), by type and name. */
function shapes(db: Database.Database, names: (n: string) => boolean): Shape {
  const out: Shape = new Map();
  const objs = db.prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')").all() as { type: string; name: string; tbl_name: string }[];
  for (const o of objs) {
    if (!names(o.name) && !names(o.tbl_name)) continue;
    if (o.name.startsWith('sqlite_')) continue;
    let shape: unknown;
    if (o.type === 'table') shape = db.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)').raw(true).all(o.name);
    else {
      const list = db.prepare('SELECT "unique", origin, partial FROM pragma_index_list(?) WHERE name = ?').raw(true).get(o.tbl_name, o.name);
      shape = [o.tbl_name, list, db.prepare('SELECT seqno, cid, name, "desc", coll, "key" FROM pragma_index_xinfo(?)').raw(true).all(o.name)];
    }
    out.set(`${o.type} ${o.name}`, JSON.stringify(shape));
  }
  return out;
}

/** The internal tables and indexes a current replica of `schema` holds: made in memory by crsync itself. */
function reference(schema: ReplicatedSchema): Shape {
  const db = new Database(':memory:');
  try {
    db.loadExtension(extensionPath());
    for (const t of schema.tables) {
      db.exec(createTableSql(t));
      db.prepare('SELECT crsql_as_crr(?)').run(t.name);
    }
    ensureBookkeeping(db);
    const tables = new Set(schema.tables.map((t) => t.name));
    return shapes(db, (n) => !tables.has(n));
  } finally {
    db.prepare('SELECT crsql_finalize()').run();
    db.close();
  }
}

/** Why a replicated table is not one a schema request would create (null: it is). */
function tableProblem(db: Database.Database, table: string): string | null {
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(table) as string;
  const word = tokenize(sql).find((t) => t.type === 'word' && CONSTRAINT_WORDS.has(t.value.toUpperCase()));
  if (word) return `table ${table} declares ${word.value.toUpperCase()}`;
  if ((db.prepare('SELECT count(*) FROM pragma_table_xinfo(?) WHERE hidden <> 0').pluck().get(table) as number) > 0) return `table ${table} has generated columns`;
  if (/\bWITHOUT\s+ROWID\b/i.test(sql)) return `table ${table} is WITHOUT ROWID`;
  const own = db.prepare("SELECT name FROM pragma_index_list(?) WHERE origin = 'c'").pluck().all(table) as string[];
  if (own.length > 0) return `table ${table} has an index of its own (${own[0]})`;
  return null;
}

/**
 * Why the replica file at `db` cannot travel as a snapshot (empty: it can). Checks the shape of
 * everything in it against what crsync creates; the data is not read.
 */
export function uploadProblems(db: Database.Database, schema = readReplicatedSchema(db)): string[] {
  const problems: string[] = [];
  const tables = new Set(schema.tables.map((t) => t.name));
  for (const t of schema.tables) {
    const p = tableProblem(db, t.name);
    if (p) problems.push(p);
  }
  const internal = (n: string): boolean => !tables.has(n);
  const ref = reference(schema);
  const got = shapes(db, internal);
  for (const [key, shape] of got) {
    if (!ref.has(key)) problems.push(`it holds ${key}, which crsync does not make`);
    else if (ref.get(key) !== shape) problems.push(`its ${key} is not in crsync's current shape`);
  }
  for (const key of ref.keys()) if (!got.has(key)) problems.push(`it lacks ${key}`);
  const other = db.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { type: string; name: string }[];
  for (const o of other) if (o.type === 'view' || (!tables.has(o.name) && !got.has(`table ${o.name}`))) problems.push(`it holds ${o.type} ${o.name}, which is not replicated`);
  return problems;
}

/** What an upload is checked against: the hub's limits, and what the uploader announced. */
export interface UploadExpectation {
  maxValueBytes: number;
  site: Uint8Array;
  version: bigint;
}

/**
 * Checks an uploaded file (hub side) and returns its replicated schema. Throws bad_snapshot for
 * anything that is not a sane current crsync replica, value_too_large for a value over the limit.
 */
export function checkUpload(path: string, expected: UploadExpectation): ReplicatedSchema {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, readonly: true });
    db.pragma('trusted_schema = OFF');
    db.pragma('cell_size_check = ON');
    db.pragma('schema_version');
  } catch (err) {
    throw bad(`it is not a SQLite database (${(err as Error).message})`);
  }
  try {
    const ok = db.pragma('quick_check', { simple: true });
    if (ok !== 'ok') throw bad(`the file is damaged (${String(ok)})`);
    if (!['crsql_master', 'crsql_site_id', 'crsync_meta'].every((t) => tableExists(db, t))) throw bad('it is not a crsync replica');
    const crsql = db.prepare("SELECT value FROM crsql_master WHERE key = 'crsqlite_version'").pluck().get();
    const ours = new Database(':memory:');
    let want: unknown;
    try {
      ours.loadExtension(extensionPath());
      want = ours.prepare("SELECT value FROM crsql_master WHERE key = 'crsqlite_version'").pluck().get();
      ours.prepare('SELECT crsql_finalize()').run();
    } finally {
      ours.close();
    }
    if (crsql !== want) throw bad(`it was written by cr-sqlite ${String(crsql)}, not ${String(want)}`);
    const bk = Number(getMeta(db, 'bookkeeping_version'));
    if (bk !== BOOKKEEPING_VERSION) throw bad(`its crsync bookkeeping is version ${bk}, not ${BOOKKEEPING_VERSION}`);
    for (const t of FOREIGN_BOOKKEEPING) {
      if (tableExists(db, t) && db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined) throw bad(`it carries bookkeeping of other sites (${t})`);
    }
    const schema = readReplicatedSchema(db);
    const problems = uploadProblems(db, schema);
    if (problems.length > 0) throw bad(problems[0]!);
    checkSites(db, expected);
    for (const t of schema.tables) checkTable(db, t.name, t.columns.map((c) => c.name), expected);
    return schema;
  } finally {
    db.close();
  }
}

function checkSites(db: Database.Database, expected: UploadExpectation): void {
  const n = db.prepare('SELECT count(*) FROM crsql_site_id WHERE typeof(site_id) <> \'blob\' OR length(site_id) <> 16 OR typeof(ordinal) <> \'integer\' OR ordinal < 0').pluck().get() as number;
  if (n > 0) throw bad('its site table holds ids that are not 16 bytes');
  const local = db.prepare('SELECT site_id FROM crsql_site_id WHERE ordinal = 0').pluck().get() as Buffer | undefined;
  if (!local) throw bad('it has no local site id');
  if (!local.equals(expected.site)) throw bad(`it was written by site ${local.toString('hex')}, not the announced ${Buffer.from(expected.site).toString('hex')}`);
  let version = 0n;
  for (const t of clockTables(db)) {
    const v = db.prepare(`SELECT max(db_version) FROM ${quoteIdent(t)}`).pluck().safeIntegers(true).get() as bigint | null;
    if (v !== null && v > version) version = v;
  }
  if (version !== expected.version) throw bad(`it stands at version ${version}, not the announced ${expected.version}`);
}

/** Clock rows a merge could have made, and values within the hub's limit. */
function checkTable(db: Database.Database, table: string, columns: string[], limits: UploadExpectation): void {
  const clock = quoteIdent(`${table}__crsql_clock`);
  const pks = quoteIdent(`${table}__crsql_pks`);
  const cols = ['-1', ...columns].map((c) => `'${c.replace(/'/g, "''")}'`).join(', ');
  const wrong = db
    .prepare(
      `SELECT count(*) FROM ${clock} c WHERE typeof(c.col_version) <> 'integer' OR c.col_version < 1 OR typeof(c.db_version) <> 'integer' OR c.db_version < 1 OR c.db_version > ?
         OR typeof(c.seq) <> 'integer' OR c.seq < 0 OR c.col_name NOT IN (${cols})
         OR (c.site_id IS NOT NULL AND c.site_id NOT IN (SELECT ordinal FROM crsql_site_id))`,
    )
    .pluck()
    .safeIntegers(true)
    .get(MAX_VERSION) as bigint;
  if (wrong > 0n) throw bad(`${wrong} clock rows of table ${table} are not ones a merge makes`);
  // Each key once (the clock is ordered by key): a lookup per row, not per cell, of 1M cells.
  const orphans = db.prepare(`SELECT count(*) FROM (SELECT DISTINCT key FROM ${clock}) k WHERE NOT EXISTS (SELECT 1 FROM ${pks} p WHERE p.__crsql_key = k.key)`).pluck().get() as number;
  if (orphans > 0) throw bad(`clock rows of ${orphans} keys of table ${table} name no key of ${table}__crsql_pks`);
  if (columns.length === 0) return;
  const lengths = columns.map((c) => `max(length(CAST(${quoteIdent(c)} AS BLOB)))`).join(', ');
  const max = db.prepare(`SELECT ${lengths} FROM ${quoteIdent(table)}`).raw(true).get() as (number | null)[];
  max.forEach((n, i) => {
    if (n !== null && n > limits.maxValueBytes) {
      throw new CrsyncError('value_too_large', `the uploaded snapshot holds a value of ${n} bytes in ${table}.${columns[i]}, over the hub's ${limits.maxValueBytes}`, { hint: 'the operator can raise crsync serve --max-value' });
    }
  });
}
