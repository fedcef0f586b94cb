import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CrsyncError } from '../errors.js';

/** What a token may do. */
export interface TokenGrant {
  write: boolean;
  /** May create datasets (right `create` or `admin`). */
  create: boolean;
  /** Who this token is, as stored with the site ids it pushes as (a digest, never the token). */
  owner: Buffer;
  /** Datasets it may use; null for all. */
  datasets: Set<string> | null;
}

/** Tokens of a hub, keyed by the sha256 of the token (compared in constant time). */
export interface TokenTable {
  grants: { digest: Buffer; grant: TokenGrant }[];
  /**
   * True once some token has the `create` or `admin` right: then only those create datasets.
   * A file without either keeps the old rule (any read-write token creates).
   */
  createRestricted: boolean;
}

/** A tokens file that reads but does not parse: its content is wrong, not the command line. */
function badTokens(message: string, hint = 'each line is "<token> <read|read-write|create|admin> [dataset,dataset|*]"'): CrsyncError {
  return new CrsyncError('bad_input', message, { hint });
}

/**
 * Reads a tokens file: one token a line, `<token> <right> [dataset,dataset|*]`, the right one of
 * `read`, `read-write`, `create` (read-write, and may create datasets) or `admin` (create, on
 * every dataset); blank lines and lines starting with # are ignored.
 */
export function loadTokens(path: string): TokenTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CrsyncError('tokens_unreadable', `cannot read tokens file ${path}: ${(err as Error).message}`, {
      hint: 'pass an existing file to --tokens',
    });
  }
  const grants: TokenTable['grants'] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const [token, rights, datasets, ...rest] = trimmed.split(/\s+/);
    const where = `${path}:${i + 1}`;
    if (!token || !rights || rest.length > 0) throw badTokens(`${where}: expected "<token> <read|read-write|create|admin> [datasets]"`);
    let write = true;
    let create = false;
    if (rights === 'read' || rights === 'r') write = false;
    else if (rights === 'create' || rights === 'admin') create = true;
    else if (rights !== 'read-write' && rights !== 'rw' && rights !== 'write') throw badTokens(`${where}: unknown right ${JSON.stringify(rights)}`, 'use read, read-write, create or admin');
    const list = rights === 'admin' || !datasets || datasets === '*' ? null : new Set(datasets.split(',').filter(Boolean));
    grants.push({ digest: digest(token), grant: { write, create, datasets: list, owner: digest(`crsync site owner\0${token}`) } });
  });
  if (grants.length === 0) throw badTokens(`${path} holds no tokens`, 'add lines "<token> <read|read-write> [datasets]"');
  return { grants, createRestricted: grants.some((g) => g.grant.create) };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The grant of a presented token, or undefined when it is unknown. */
export function findGrant(table: TokenTable, token: string): TokenGrant | undefined {
  const d = digest(token);
  let found: TokenGrant | undefined;
  for (const g of table.grants) if (timingSafeEqual(g.digest, d)) found = g.grant;
  return found;
}
