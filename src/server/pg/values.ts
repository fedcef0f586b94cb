import type { SqlValue } from '../../values.js';

/*
 * SQLite values in PostgreSQL columns. A cell keeps its SQLite storage class exactly: the type
 * code (SQLite's own: 1 INTEGER, 2 REAL, 3 TEXT, 4 BLOB, 5 NULL) and one of three columns. TEXT
 * is kept as its UTF-8 bytes in the bytea column, because SQLite text may hold NUL characters,
 * which PostgreSQL's text type refuses. Integers and reals travel to and from PostgreSQL as text
 * (exact: bigint as decimal, float8 in the shortest form that reads back the same double).
 */

export const SQLITE_INTEGER = 1;
export const SQLITE_REAL = 2;
export const SQLITE_TEXT = 3;
export const SQLITE_BLOB = 4;
export const SQLITE_NULL = 5;

/** A value as its PostgreSQL columns (val_type, val_int, val_real, val_bytes), ready to bind. */
export interface PgValue {
  type: number;
  int: string | null;
  real: string | null;
  bytes: Buffer | null;
}

/** The SQLite storage class of a value. */
export function sqliteType(v: SqlValue): number {
  if (v === null) return SQLITE_NULL;
  if (typeof v === 'bigint') return SQLITE_INTEGER;
  if (typeof v === 'number') return SQLITE_REAL;
  if (typeof v === 'string') return SQLITE_TEXT;
  return SQLITE_BLOB;
}

/** A double as float8 input text: -0 and the non-finite values keep their identity. */
export function realText(n: number): string {
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

/** Splits a value into its columns. */
export function toPg(v: SqlValue): PgValue {
  if (v === null) return { type: SQLITE_NULL, int: null, real: null, bytes: null };
  if (typeof v === 'bigint') return { type: SQLITE_INTEGER, int: v.toString(), real: null, bytes: null };
  if (typeof v === 'number') return { type: SQLITE_REAL, int: null, real: realText(v), bytes: null };
  if (typeof v === 'string') return { type: SQLITE_TEXT, int: null, real: null, bytes: Buffer.from(v, 'utf8') };
  return { type: SQLITE_BLOB, int: null, real: null, bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength) };
}

/** Integers are exact: digits only, within SQLite's 64 bits (pg returns int8 as text). */
export function parseBigint(text: string): bigint {
  if (!/^-?\d{1,19}$/.test(text)) throw new Error(`not a 64-bit integer from PostgreSQL: ${text}`);
  return BigInt(text);
}

/** A value back from its columns (as the pg client returns them: int8 as text, float8 as number). */
export function fromPg(type: number, int: string | null, real: number | null, bytes: Buffer | null): SqlValue {
  switch (type) {
    case SQLITE_INTEGER:
      return parseBigint(int ?? '');
    case SQLITE_REAL:
      return real ?? 0;
    case SQLITE_TEXT:
      return (bytes ?? Buffer.alloc(0)).toString('utf8');
    case SQLITE_BLOB:
      return bytes ?? Buffer.alloc(0);
    case SQLITE_NULL:
      return null;
    default:
      throw new Error(`unknown SQLite type code ${type} in crsync_cells`);
  }
}

/**
 * cr-sqlite 0.16.3's value order (crsql_compare_sqlite_values), which breaks ties between writes
 * of equal col_version: values of different storage classes compare by class alone, as
 * NULL < BLOB < TEXT < REAL < INTEGER (the inverse of SQLite's type codes, so an INTEGER beats
 * every REAL whatever the numbers); within a class, numbers by value and TEXT and BLOB by their
 * bytes (memcmp, then length). Returns <0, 0 or >0.
 */
export function compareValues(a: SqlValue, b: SqlValue): number {
  const ta = sqliteType(a);
  const tb = sqliteType(b);
  if (ta !== tb) return tb - ta;
  switch (ta) {
    case SQLITE_INTEGER:
    case SQLITE_REAL:
      return (a as number | bigint) < (b as number | bigint) ? -1 : (a as number | bigint) > (b as number | bigint) ? 1 : 0;
    case SQLITE_TEXT:
      return Buffer.compare(Buffer.from(a as string, 'utf8'), Buffer.from(b as string, 'utf8'));
    case SQLITE_BLOB:
      return Buffer.compare(a as Uint8Array, b as Uint8Array);
    default:
      return 0;
  }
}
