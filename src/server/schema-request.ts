import { CrsyncError } from '../errors.js';
import type { SchemaRequest } from '../sync/protocol/types.js';
import { badRequest } from './request.js';

/**
 * Most replicated tables in one dataset (and so in one schema request, which carries the whole
 * schema). cr-sqlite reads its version over every clock table in one compound SELECT, which
 * SQLite caps at 500 terms: a dataset of 600 tables could no longer be opened.
 */
export const MAX_TABLES = 256;

/** Most columns of one replicated table. */
export const MAX_COLUMNS = 512;

const IDENT_OK = (s: unknown): boolean => typeof s === 'string' && s.length > 0 && s.length <= 256 && !s.includes('\0');

/**
 * A declared type is what a replicated column may declare: a type name of one to four words with
 * an optional size ("TEXT", "VARCHAR(20)", "NUMERIC(10, 2)", "UNSIGNED BIG INT", or none). The
 * words that start a constraint are not type names: "TEXT CHECK (...)" or "INT GENERATED ALWAYS
 * AS (...)" would make the hub's table differ from the clients' and refuse their rows.
 */
const TYPE_OK = /^([A-Za-z_][A-Za-z0-9_]*( [A-Za-z_][A-Za-z0-9_]*){0,3}( ?\(\s*[-+]?\d{1,10}\s*(,\s*[-+]?\d{1,10}\s*)?\))?)?$/;
const CONSTRAINT_WORD = /\b(CONSTRAINT|PRIMARY|KEY|NOT|NULL|UNIQUE|CHECK|DEFAULT|COLLATE|REFERENCES|GENERATED|ALWAYS|AS|STORED|VIRTUAL|ON|CONFLICT|AUTOINCREMENT|ASC|DESC)\b/i;

/** True when `type` is a plain declared type (exported for the test of what clients may declare). */
export function plainColumnType(type: unknown): boolean {
  return typeof type === 'string' && type.length <= 100 && TYPE_OK.test(type) && !CONSTRAINT_WORD.test(type);
}

// Defaults travel as SQL text: only literals are accepted, so a request cannot smuggle SQL in.
const DEFAULT_OK = /^\(?\s*(NULL|TRUE|FALSE|CURRENT_TIME|CURRENT_DATE|CURRENT_TIMESTAMP|[-+]?\d+(\.\d+)?([eE][-+]?\d+)?|'([^']|'')*'|[xX]'[0-9a-fA-F]*')\s*\)?$/;

function tooLarge(message: string): CrsyncError {
  return new CrsyncError('schema_too_large', message, { hint: `a dataset holds at most ${MAX_TABLES} replicated tables of at most ${MAX_COLUMNS} columns each` });
}

/** Checks the body of POST .../schema: its size first (cheap), then every table and column. */
export function validSchemaRequest(body: unknown): SchemaRequest {
  const b = body as SchemaRequest;
  if (!b || typeof b !== 'object' || !Array.isArray(b.tables)) throw badRequest('schema request is malformed', 'send {"tables": [...], "version": n}');
  if (b.tables.length > MAX_TABLES) throw tooLarge(`the schema has ${b.tables.length} tables, more than the ${MAX_TABLES} a dataset may hold`);
  for (const t of b.tables) {
    if (Array.isArray(t?.columns) && t.columns.length > MAX_COLUMNS) throw tooLarge(`table ${String(t.name).slice(0, 100)} has ${t.columns.length} columns, more than ${MAX_COLUMNS}`);
  }
  const names = new Set(b.tables.map((t) => (typeof t?.name === 'string' ? t.name.toLowerCase() : '')));
  const ok =
    Number.isInteger(b.version) && b.version >= 0 && names.size === b.tables.length &&
    b.tables.every((t) => IDENT_OK(t?.name) && !/^(crsync_|crsql_|sqlite_)/i.test(t.name) && !t.name.includes('__crsql_') && Array.isArray(t.columns) && t.columns.length > 0 &&
      t.columns.some((c) => c?.pk > 0) &&
      t.columns.every((c) => IDENT_OK(c?.name) && typeof c.notnull === 'boolean' && Number.isInteger(c.pk) && c.pk >= 0 && (c.dflt === null || (typeof c.dflt === 'string' && DEFAULT_OK.test(c.dflt)))));
  if (!ok) throw badRequest('schema request is malformed', 'tables need unique names, a primary key and columns; defaults must be literals');
  for (const t of b.tables) {
    for (const c of t.columns) {
      if (!plainColumnType(c.type)) {
        throw badRequest(`column ${t.name}.${c.name} declares type ${JSON.stringify(String(c.type).slice(0, 100))}, which is not a plain type name`, 'a replicated column declares a type name with an optional size (TEXT, VARCHAR(20), NUMERIC(10,2)), no constraints and no generated columns');
      }
    }
  }
  return b;
}
