import type Database from 'better-sqlite3';
import type { SqlValue } from '../../values.js';
import { primaryKeyColumns, tableExists } from '../schema/read.js';
import { quoteIdent, siteId, type Db } from '../store.js';

/** The write a cell holds: the site that made it and its col_version (causal length for a row's sentinel). */
export interface CellWrite {
  site: Buffer;
  version: bigint;
}

/**
 * Reads which write a cell holds now, from cr-sqlite's clock tables, with statements prepared
 * once per table (a hub asks it for every conflict a push reports).
 */
export class CellClock {
  private readonly unpack: Database.Statement;
  private readonly byTable = new Map<string, Database.Statement | null>();
  private readonly local: Buffer;

  constructor(private readonly db: Db) {
    this.unpack = db.prepare('SELECT cell FROM crsql_unpack_columns(?)').pluck().safeIntegers(true);
    this.local = siteId(db);
  }

  private stmt(table: string): Database.Statement | null {
    let s = this.byTable.get(table);
    if (s === undefined) {
      s = null;
      if (tableExists(this.db, table)) {
        const where = primaryKeyColumns(this.db, table).map((c) => `p.${quoteIdent(c)} = ?`).join(' AND ');
        s = this.db
          .prepare(
            `SELECT s.site_id, c.col_version FROM ${quoteIdent(`${table}__crsql_pks`)} p
             JOIN ${quoteIdent(`${table}__crsql_clock`)} c ON c.key = p.__crsql_key
             LEFT JOIN crsql_site_id s ON s.ordinal = c.site_id WHERE ${where} AND c.col_name = ?`,
          )
          .raw(true)
          .safeIntegers(true);
      }
      this.byTable.set(table, s);
    }
    return s;
  }

  /** The write cell `cid` of row `pk` holds ('-1': the row's sentinel), or null (no such table, row or cell). */
  write(table: string, pk: Uint8Array, cid: string): CellWrite | null {
    const s = this.stmt(table);
    if (!s) return null;
    const row = s.get(...(this.unpack.all(pk) as SqlValue[]), cid) as [Buffer | null, bigint] | undefined;
    return row ? { site: row[0] ?? this.local, version: row[1] } : null;
  }
}

/** The (site, col_version) of the write that holds a cell now, or null (no such row or cell). */
export function cellWrite(db: Db, table: string, pk: Uint8Array, cid: string): CellWrite | null {
  return new CellClock(db).write(table, pk, cid);
}
