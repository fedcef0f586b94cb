import Database from 'better-sqlite3';
import type { ReplicatedSchema } from '../sync/protocol/schema.js';
import type { Change } from '../sync/protocol/types.js';
import { closeDb, loadExtension, quoteIdent } from './store.js';

/**
 * The cells of a checked upload (snapshot-check.ts checkUpload), as crsql_changes would show
 * them once the hub adopted the file (adoptUpload): table, packed key, column, value,
 * col_version, db_version, writer, causal length, seq, the uploader's own writes (ordinal 0)
 * under its site id. Read straight from the clock, key and data tables, which is what
 * crsql_changes does too, minus its per-row virtual-table cost: the file is attached to a
 * connection of its own, whose cr-sqlite packs the keys; nothing of the file runs (a
 * plain SELECT fires no trigger, and checkUpload left no view).
 */
export function* uploadCells(path: string, schema: ReplicatedSchema, batch: number): Generator<Change[]> {
  const db = new Database(':memory:');
  try {
    loadExtension(db);
    db.pragma('trusted_schema = OFF');
    db.prepare('ATTACH DATABASE ? AS up').run(path);
    for (const t of schema.tables) {
      const pks = t.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => quoteIdent(c.name));
      const cols = t.columns.filter((c) => c.pk === 0).map((c) => c.name);
      const value = cols.length === 0 ? 'NULL' : `CASE c.col_name ${cols.map((n) => `WHEN '${n.replace(/'/g, "''")}' THEN r.${quoteIdent(n)}`).join(' ')} END`;
      const clock = `up.${quoteIdent(`${t.name}__crsql_clock`)}`;
      const sql = `SELECT ?, crsql_pack_columns(${pks.map((p) => `p.${p}`).join(', ')}), c.col_name, ${value}, c.col_version, c.db_version, s.site_id,
          coalesce((SELECT x.col_version FROM ${clock} x WHERE x.key = c.key AND x.col_name = '-1'), 1), c.seq
        FROM ${clock} c
        JOIN up.${quoteIdent(`${t.name}__crsql_pks`)} p ON p.__crsql_key = c.key
        JOIN up.crsql_site_id s ON s.ordinal = c.site_id
        LEFT JOIN up.${quoteIdent(t.name)} r ON ${pks.map((p) => `r.${p} = p.${p}`).join(' AND ')}
        ORDER BY c.key, c.col_name`;
      let out: Change[] = [];
      for (const row of db.prepare(sql).raw(true).safeIntegers(true).iterate(t.name)) {
        out.push(row as Change);
        if (out.length >= batch) {
          yield out;
          out = [];
        }
      }
      if (out.length > 0) yield out;
    }
  } finally {
    closeDb(db);
  }
}
