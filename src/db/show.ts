import { UsageError, CrsyncError } from '../errors.js';
import { parseSqlJson, fromJsonValue, toJsonValue, type JsonSqlValue, type SqlValue } from '../values.js';
import { listConflicts, type ConflictView } from './conflicts/list.js';
import { isReplicated, primaryKeyColumns, tableColumns, tableExists } from './schema/read.js';
import { quoteIdent, siteId, type Db } from './store.js';

/** Who wrote one cell, and when. */
export interface CellBlame {
  column: string;
  value: JsonSqlValue;
  /** The site of the write (hex). */
  siteId: string | null;
  /** The remote it came through, or null for a local write. */
  remote: string | null;
  colVersion: bigint | null;
  dbVersion: bigint | null;
  /** When this replica committed it (the transaction log, or the merge record). */
  at: string | null;
}

/** Result of `crsync show <table> <key>`. */
export interface RowBlame {
  table: string;
  pk: Record<string, JsonSqlValue>;
  exists: boolean;
  cells: CellBlame[];
  conflicts: ConflictView[];
}

/** A key's text value, typed by its column's declared type (so 1 finds an INTEGER key). */
function typed(text: string, type: string): SqlValue {
  const t = type.toUpperCase();
  if (t.includes('INT') && /^-?\d{1,19}$/.test(text)) return BigInt(text);
  if ((t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  return text;
}

/**
 * Parses a row key: `col=value[,col=value]`, a bare value for a one-column key, or a JSON object
 * (exact types). Every key column must be given, and nothing else.
 */
export function parseRowKey(db: Db, table: string, text: string): SqlValue[] {
  const cols = primaryKeyColumns(db, table);
  const types = new Map(tableColumns(db, table).map((c) => [c.name, c.type]));
  const given = new Map<string, SqlValue>();
  if (text.trimStart().startsWith('{')) {
    let obj: unknown;
    try {
      obj = parseSqlJson(text);
    } catch {
      throw new UsageError(`the key ${text} is not valid JSON`, `e.g. '{"id": 1}'`);
    }
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      const s = fromJsonValue(v);
      if (s === undefined || s === null) throw new UsageError(`key column ${k} must be a string, number or {"$blob": hex}`);
      given.set(k, s);
    }
  } else if (cols.length === 1 && !text.includes('=')) {
    given.set(cols[0]!, typed(text, types.get(cols[0]!) ?? ''));
  } else {
    for (const part of text.split(',')) {
      const i = part.indexOf('=');
      if (i <= 0) throw new UsageError(`the key ${text} is not col=value[,col=value]`, `e.g. ${cols.map((c) => `${c}=…`).join(',')}`);
      const col = part.slice(0, i).trim();
      given.set(col, typed(part.slice(i + 1), types.get(col) ?? ''));
    }
  }
  const extra = [...given.keys()].filter((k) => !cols.includes(k));
  const missing = cols.filter((c) => !given.has(c));
  if (extra.length + missing.length > 0) {
    throw new UsageError(`the key of ${table} is ${cols.join(', ')}${missing.length ? `; missing ${missing.join(', ')}` : ''}${extra.length ? `; not key columns: ${extra.join(', ')}` : ''}`, `e.g. crsync show ${table} ${cols.map((c) => `${c}=…`).join(',')}`);
  }
  return cols.map((c) => given.get(c)!);
}

/** The row with its key, and for each cell the write that holds it (a blame). */
export function showRow(db: Db, table: string, keyText: string): RowBlame {
  if (!tableExists(db, table) || !isReplicated(db, table)) {
    throw new CrsyncError('no_such_table', `${table} is not a replicated table`, { hint: 'list them with `crsync track --list`' });
  }
  const cols = primaryKeyColumns(db, table);
  const key = parseRowKey(db, table, keyText);
  const where = (alias: string): string => cols.map((c) => `${alias}${quoteIdent(c)} = ?`).join(' AND ');
  const row = db.prepare(`SELECT * FROM ${quoteIdent(table)} WHERE ${where('')}`).safeIntegers(true).get(...key) as Record<string, SqlValue> | undefined;
  const local = siteId(db);
  const clock = db
    .prepare(
      `SELECT c.col_name, c.col_version, c.db_version, s.site_id FROM ${quoteIdent(`${table}__crsql_pks`)} p
       JOIN ${quoteIdent(`${table}__crsql_clock`)} c ON c.key = p.__crsql_key
       LEFT JOIN crsql_site_id s ON s.ordinal = c.site_id WHERE ${where('p.')}`,
    )
    .raw(true)
    .safeIntegers(true)
    .all(...key) as [string, bigint, bigint, Buffer | null][];
  const byCol = new Map(clock.map(([name, cv, dbv, site]) => [name, { cv, dbv, site: site ?? local }]));
  const run = db.prepare('SELECT peer_site, remote, at FROM crsync_applied WHERE db_version <= ? AND last_version >= ? ORDER BY db_version DESC LIMIT 1').safeIntegers(true);
  const logged = db.prepare('SELECT at FROM crsync_txlog WHERE db_version = ? LIMIT 1').pluck();
  const cells: CellBlame[] = [];
  if (row) {
    for (const c of tableColumns(db, table)) {
      if (cols.includes(c.name)) continue;
      const w = byCol.get(c.name);
      const merged = w ? (run.get(w.dbv, w.dbv) as { peer_site: Buffer | null; remote: string | null; at: string } | undefined) : undefined;
      const isLocal = w ? w.site.equals(local) && !merged : false;
      cells.push({
        column: c.name,
        value: toJsonValue(row[c.name] ?? null),
        siteId: w ? w.site.toString('hex') : null,
        remote: !w || isLocal ? null : (merged?.remote ?? (merged?.peer_site ? merged.peer_site.toString('hex') : null)),
        colVersion: w?.cv ?? null,
        dbVersion: w?.dbv ?? null,
        at: w ? ((logged.get(w.dbv) as string | undefined) ?? merged?.at ?? null) : null,
      });
    }
  }
  const pk: Record<string, JsonSqlValue> = {};
  cols.forEach((c, i) => (pk[c] = toJsonValue(row ? (row[c] ?? null) : key[i]!)));
  const packed = db.prepare(`SELECT crsql_pack_columns(${key.map(() => '?').join(', ')})`).pluck().get(...key) as Buffer;
  const ids = db.prepare('SELECT id FROM crsync_conflicts WHERE tbl = ? AND pk = ? ORDER BY id').pluck().all(table, packed) as number[];
  return { table, pk, exists: row !== undefined, cells, conflicts: ids.length > 0 ? listConflicts(db, { ids }) : [] };
}
