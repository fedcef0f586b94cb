import Database from 'better-sqlite3';
import { CrsyncError } from '../errors.js';
import type { ReplicatedSchema, TableSchema } from '../sync/protocol/schema.js';
import type { Change } from '../sync/protocol/types.js';
import type { SqlValue } from '../values.js';
import { unpackPk } from './changes/packed-pk.js';
import { applyAdditiveSchema } from './schema/apply.js';
import { readReplicatedSchema } from './schema/read.js';
import { forgetSourceMeta, type SnapshotPosition } from './snapshot.js';
import { openStore, quoteIdent } from './store.js';

/**
 * A snapshot file written from a dataset's cells, for a hub that keeps no SQLite file (the
 * PostgreSQL store): the file a SQLite hub's VACUUM INTO makes of the same history, as far as a
 * client adopting it can tell. crsync makes the replica's schema with cr-sqlite (so every
 * internal table, index and trigger is its own), then, with plain SQLite and the triggers set
 * aside, fills the tables in bulk: each row's key values in `<t>__crsql_pks`, each cell as a
 * clock row (col_version, db_version, seq, its writer as an ordinal of crsql_site_id; the row's
 * sentinel '-1' as cr-sqlite keeps it, deleted rows as their sentinel alone), and the values of
 * live rows (odd causal length) in the table itself. The hub's site id is ordinal 0, so the
 * client re-attributes the hub's own writes as after any snapshot.
 *
 * Cells must come grouped by row (all the cells of one table and key one after the other), as
 * the store reads them in its primary-key order. Nothing in the file depends on the time or on
 * chance: two hub processes write the same bytes for the same cells.
 */

/** What the writer needs of the dataset. */
export interface SnapshotSource {
  /** The hub's site id: ordinal 0 of the file. */
  site: Buffer;
  schema: ReplicatedSchema;
  /** The time written as the schema's migration record (the dataset's creation), ISO 8601. */
  at: string;
}

interface TableWriter {
  schema: TableSchema;
  pkColumns: string[];
  columns: Set<string>;
  nextKey: number;
  pks: Database.Statement;
  clock: Database.Statement;
  /** CLOCK_BATCH clock rows in one INSERT, and the parameters of the next one. */
  clocks: Database.Statement;
  clockArgs: unknown[];
  /** The INSERT of a live row, by the columns it has cells of. */
  rows: Map<string, Database.Statement>;
}

/** Cells of one row, as they came. */
interface PendingRow {
  table: string;
  pk: Uint8Array;
  cells: Change[];
}

export class SnapshotWriter {
  private readonly db: Database.Database;
  private readonly tables = new Map<string, TableWriter>();
  private readonly ordinals = new Map<string, number>();
  /** The triggers and indexes dropped while the tables fill, made again at the end. */
  private readonly setAside: string[];
  private pending: PendingRow | undefined;
  private lastSite: Uint8Array | undefined;
  private lastOrdinal = 0;
  private version = 0n;
  private changes = 0;

  /** Makes `dest` (a new file) a replica of `source.schema`, ready to take cells. */
  constructor(
    private readonly dest: string,
    private readonly source: SnapshotSource,
  ) {
    const store = openStore(dest, { create: true });
    try {
      if (source.schema.tables.length > 0) applyAdditiveSchema(store.db, { tables: source.schema.tables, columns: [] }, 'snapshot', source.schema.version);
      store.db.pragma('journal_mode = DELETE');
    } finally {
      store.close();
    }
    this.db = new Database(dest, { fileMustExist: true });
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -65536');
    // What set-up wrote and this writer replaces (a random site id, times) leaves no bytes behind.
    this.db.pragma('secure_delete = ON');
    this.db.exec('BEGIN');
    // cr-sqlite's and crsync's triggers call the extension, which this connection has not
    // loaded; they go while the tables fill, and come back as they were.
    // The indexes of the key and clock tables go too: made once over the filled tables (a sort)
    // they cost a fraction of a million inserts at random places, and pack their pages full.
    const setAside = this.db
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND (type = 'trigger' OR (type = 'index' AND (tbl_name LIKE '%!_!_crsql!_clock' ESCAPE '!' OR tbl_name LIKE '%!_!_crsql!_pks' ESCAPE '!'))) ORDER BY rowid")
      .all() as { type: string; name: string; sql: string }[];
    for (const o of setAside) this.db.exec(`DROP ${o.type.toUpperCase()} ${quoteIdent(o.name)}`);
    this.setAside = setAside.map((o) => o.sql);
    this.ordinals.set(source.site.toString('hex'), 0);
    for (const t of source.schema.tables) {
      const pkColumns = t.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      const keyCols = ['__crsql_key', ...pkColumns].map(quoteIdent).join(', ');
      this.tables.set(t.name, {
        schema: t,
        pkColumns,
        columns: new Set(t.columns.filter((c) => c.pk === 0).map((c) => c.name)),
        nextKey: 1,
        pks: this.db.prepare(`INSERT INTO ${quoteIdent(`${t.name}__crsql_pks`)} (${keyCols}) VALUES (${pkColumns.map(() => '?, ').join('')}?)`),
        clock: this.db.prepare(`${clockInsert(t.name)} (?, ?, ?, ?, ?, ?)`),
        clocks: this.db.prepare(`${clockInsert(t.name)} ${Array(CLOCK_BATCH).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`),
        clockArgs: [],
        rows: new Map(),
      });
    }
  }

  /** Takes the next cells (in row groups; a group may continue in the next call). */
  add(cells: Change[]): void {
    for (const c of cells) {
      const p = this.pending;
      if (p && p.table === c[0] && Buffer.compare(p.pk, c[1]) === 0) p.cells.push(c);
      else {
        if (p) this.writeRow(p);
        this.pending = { table: c[0], pk: c[1], cells: [c] };
      }
    }
  }

  /** Writes what is left and closes the file: the snapshot's position (the hub's site, its newest version). */
  finish(): SnapshotPosition {
    if (this.pending) this.writeRow(this.pending);
    this.pending = undefined;
    for (const t of this.tables.values()) for (let i = 0; i < t.clockArgs.length; i += 6) t.clock.run(t.clockArgs.slice(i, i + 6));
    const db = this.db;
    db.exec('DELETE FROM crsql_site_id');
    const site = db.prepare('INSERT INTO crsql_site_id (site_id, ordinal) VALUES (?, ?)');
    for (const [hex, ordinal] of this.ordinals) site.run(Buffer.from(hex, 'hex'), ordinal);
    forgetSourceMeta(db);
    db.prepare('UPDATE crsync_migrations SET applied_at = ?').run(this.source.at);
    for (const sql of this.setAside) db.exec(sql);
    const hash = readReplicatedSchema(db).hash;
    if (hash !== this.source.schema.hash) throw new Error(`the snapshot's schema hash ${hash} is not the dataset's ${this.source.schema.hash}`);
    db.exec('COMMIT');
    db.close();
    return { site: this.source.site, version: this.version, changes: this.changes };
  }

  /** Stops writing (the caller removes the file). */
  abort(): void {
    if (this.db.open) this.db.close();
  }

  private writeRow(row: PendingRow): void {
    const t = this.tables.get(row.table);
    if (!t) throw corrupt(`it holds cells of table ${row.table}, which the dataset's schema lacks`);
    const key = t.nextKey++;
    const pk = unpackPk(row.pk);
    t.pks.run(key, ...pk);
    let live = true;
    const names: string[] = [];
    const values: SqlValue[] = [];
    for (const [, , cid, val, colVersion, dbVersion, site, cl, seq] of row.cells) {
      t.clockArgs.push(key, cid, colVersion, dbVersion, this.ordinal(site), seq);
      if (t.clockArgs.length === CLOCK_BATCH * 6) {
        t.clocks.run(t.clockArgs);
        t.clockArgs = [];
      }
      this.changes++;
      if (dbVersion > this.version) this.version = dbVersion;
      // Every cell of a row carries the row's causal length: even, the row is deleted.
      if (cl % 2n === 0n) live = false;
      if (cid === '-1') continue;
      if (!t.columns.has(cid)) throw corrupt(`it holds cells of column ${row.table}.${cid}, which the dataset's schema lacks`);
      names.push(cid);
      values.push(val);
    }
    // Columns with no cell (added by a migration after the row was written) take their default.
    if (live) this.rowInsert(t, names).run(...pk, ...values);
  }

  private rowInsert(t: TableWriter, names: string[]): Database.Statement {
    const k = names.join('\0');
    let s = t.rows.get(k);
    if (!s) {
      const cols = [...t.pkColumns, ...names];
      s = this.db.prepare(`INSERT INTO ${quoteIdent(t.schema.name)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      t.rows.set(k, s);
    }
    return s;
  }

  private ordinal(site: Uint8Array): number {
    // Runs of cells by one writer are the rule: the last site answers most lookups.
    if (this.lastSite && Buffer.compare(this.lastSite, site) === 0) return this.lastOrdinal;
    const hex = Buffer.from(site.buffer, site.byteOffset, site.byteLength).toString('hex');
    let o = this.ordinals.get(hex);
    if (o === undefined) {
      o = this.ordinals.size;
      this.ordinals.set(hex, o);
    }
    this.lastSite = site;
    this.lastOrdinal = o;
    return o;
  }
}

/** Clock rows per INSERT: a statement per row costs more in calls than SQLite spends on the row. */
const CLOCK_BATCH = 64;

function clockInsert(table: string): string {
  return `INSERT INTO ${quoteIdent(`${table}__crsql_clock`)} (key, col_name, col_version, db_version, site_id, seq) VALUES`;
}

function corrupt(why: string): CrsyncError {
  return new CrsyncError('store_corrupt', `the dataset cannot be written as a snapshot: ${why}`, { hint: 'the store was changed by hand; restore it from a backup' });
}
