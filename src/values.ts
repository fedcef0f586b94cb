import { parse as losslessParse } from 'lossless-json';
/**
 * SQLite values as crsync carries them: INTEGER is always bigint, REAL is always number,
 * TEXT is string, BLOB is Uint8Array (Buffer), NULL is null. Keeping the JS type equal to the
 * SQLite storage class is what makes replicas converge (cr-sqlite breaks ties by value type).
 */
export type SqlValue = null | bigint | number | string | Uint8Array;

/** A value in crsync's JSON form: blobs as {"$blob": hex}; bigint is written as an exact literal. */
export type JsonSqlValue = null | bigint | number | string | { $blob: string };

export function toJsonValue(v: SqlValue): JsonSqlValue {
  if (v instanceof Uint8Array) return { $blob: Buffer.from(v).toString('hex') };
  return v;
}

/** Reads a parsed JSON value back into a SqlValue; returns undefined when it is not one. */
export function fromJsonValue(v: unknown): SqlValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'bigint' || typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'object' && v !== null && Object.keys(v).length === 1 && '$blob' in v) {
    const hex = (v as { $blob: unknown }).$blob;
    if (typeof hex === 'string' && /^([0-9a-fA-F]{2})*$/.test(hex)) return Buffer.from(hex, 'hex');
  }
  return undefined;
}

/** Formats a REAL so that it reads back as a REAL (3 becomes 3.0; infinities use 1e999). */
export function formatReal(n: number): string {
  if (Number.isNaN(n)) return 'null';
  if (n === Infinity) return '1e999';
  if (n === -Infinity) return '-1e999';
  const s = String(n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Parses a number literal by its spelling: digits only is INTEGER, a dot or exponent is REAL. */
export function parseNumberLiteral(text: string): bigint | number {
  if (/^-?\d+$/.test(text)) {
    const big = BigInt(text);
    // Out of SQLite's 64-bit range: SQLite itself would store it as REAL.
    if (big > 9223372036854775807n || big < -9223372036854775808n) return Number(text);
    return big;
  }
  return Number(text);
}

/**
 * JSON.stringify with exact 64-bit integers (bigint as a bare literal) and blobs as {"$blob": hex}.
 * With `reals`, every JS number is an SQLite REAL and is spelled so it reads back as one (3.0);
 * otherwise integral numbers (counts, milliseconds) print as plain integers.
 */
export function stringifyJson(value: unknown, indent = 0, reals = false): string {
  const pad = (depth: number): string => (indent ? '\n' + ' '.repeat(indent * depth) : '');
  const sep = indent ? ': ' : ':';
  const walk = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    switch (typeof v) {
      case 'bigint':
        return v.toString();
      case 'number':
        if (reals) return formatReal(v);
        return Number.isInteger(v) && Math.abs(v) < 2 ** 53 && !Object.is(v, -0) ? String(v) : formatReal(v);
      case 'string':
        return JSON.stringify(v);
      case 'boolean':
        return v ? 'true' : 'false';
      default:
        break;
    }
    if (v instanceof Uint8Array) return walk(toJsonValue(v), depth);
    if (v instanceof Date) return JSON.stringify(v.toISOString());
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + v.map((x) => pad(depth + 1) + walk(x, depth + 1)).join(',') + pad(depth) + ']';
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return (
      '{' +
      entries.map(([k, x]) => pad(depth + 1) + JSON.stringify(k) + sep + walk(x, depth + 1)).join(',') +
      pad(depth) +
      '}'
    );
  };
  return walk(value, 0);
}

/**
 * Row values keep their storage class in JSON: REAL values are spelled with a dot or exponent.
 * Used for data output (sql --json, export), where a re-import must read the same types back.
 */
export function stringifyRow(row: Record<string, SqlValue>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(row)) {
    parts.push(JSON.stringify(k) + ':' + stringifyJson(v, 0, true));
  }
  return '{' + parts.join(',') + '}';
}

/** Compares two SQLite values for equality, type included (1 and 1.0 differ). */
export function sqlValuesEqual(a: SqlValue, b: SqlValue): boolean {
  if (a === null || b === null) return a === b;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  return typeof a === typeof b && a === b;
}

/** A short human rendering of a value for tables and messages. */
export function displayValue(v: SqlValue): string {
  if (v === null) return 'NULL';
  if (v instanceof Uint8Array) return '\\x' + Buffer.from(v).toString('hex');
  if (typeof v === 'number') return formatReal(v);
  return String(v);
}

/** Serializes SQLite values (or rows of them) to JSON text that parseSqlJson reads back exactly. */
export function stringifySqlJson(value: unknown): string {
  return stringifyJson(value, 0, true);
}

/**
 * Parses JSON keeping SQLite types: digits-only numbers become INTEGER (bigint, exact), numbers
 * with a dot or exponent REAL; {"$blob": hex} stays an object (see fromJsonValue).
 */
export function parseSqlJson(text: string): unknown {
  return losslessParse(text, undefined, parseNumberLiteral);
}
