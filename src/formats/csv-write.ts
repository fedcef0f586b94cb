import { stringify } from 'csv-stringify/sync';
import { formatReal, parseNumberLiteral, type SqlValue } from '../values.js';

/*
 * crsync's CSV keeps SQLite types in the quoting, so an export reads back exactly:
 * TEXT is always quoted (so "" is the empty string), an empty unquoted field is NULL, unquoted
 * numbers are INTEGER (digits) or REAL (dot or exponent), and an unquoted \x... field is a BLOB.
 * Unquoted fields that are none of these (from other tools' CSV) are TEXT.
 */

const INTEGER = /^-?(0|[1-9]\d*)$/;
const REAL = /^-?(0|[1-9]\d*)?(\.\d+)?([eE][+-]?\d+)?$/;
const BLOB = /^\\x([0-9a-fA-F]{2})*$/;

/** Reads one CSV field by crsync's rules (see above). */
export function parseCsvField(text: string, quoted: boolean): SqlValue {
  if (quoted) return text;
  if (text === '') return null;
  if (INTEGER.test(text)) return parseNumberLiteral(text);
  if (REAL.test(text) && /\d/.test(text) && /[.eE]/.test(text)) return Number(text);
  if (BLOB.test(text)) return Buffer.from(text.slice(2), 'hex');
  return text;
}

const stringifyOptions = {
  cast: {
    // quoted_empty: without it csv-stringify writes '' unquoted, which reads back as NULL.
    string: (v: string) => ({ value: v, quoted: true, quoted_empty: true }),
    bigint: (v: bigint) => v.toString(),
    number: (v: number) => formatReal(v),
    object: (v: Record<string, unknown>) =>
      v instanceof Uint8Array ? '\\x' + Buffer.from(v).toString('hex') : JSON.stringify(v),
  },
  record_delimiter: 'unix' as const,
};

/** One CSV record (with its line break) from SQLite values. */
export function csvRecord(values: SqlValue[]): string {
  return stringify([values.map((v) => (v === null ? null : v))], stringifyOptions);
}

/** The header record for column names (always quoted). */
export function csvHeader(columns: string[]): string {
  return stringify([columns], stringifyOptions);
}
