import type { IncomingMessage, ServerResponse } from 'node:http';
import { CrsyncError } from '../errors.js';
import { stringifyJson } from '../values.js';
import type { Cursor } from '../sync/protocol/types.js';
import { DEFAULT_PAGE_SIZE, MAX_LIVE_WAIT_MS, MAX_PAGE_SIZE, START } from '../sync/protocol/types.js';

/** Dataset names: letters, digits, ".", "_" and "-", starting with a letter or digit, no "..". */
export const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws bad_request unless `name` is a valid dataset name (on any store). */
export function checkDatasetName(name: string): void {
  if (!DATASET_NAME.test(name) || name.includes('..')) {
    throw badRequest(`invalid dataset name ${JSON.stringify(name)}`, 'dataset names use letters, digits, ".", "_" and "-"');
  }
}

/** Largest JSON request body (POST .../schema). */
export const MAX_JSON_BODY = 1024 * 1024;

/** A 4xx answer: the request, not the hub, is at fault. */
export function badRequest(message: string, hint?: string): CrsyncError {
  return new CrsyncError('bad_request', message, { hint });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = stringifyJson(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Sends `{"error":{code,message,hint?,details?}}` with the status of its code (src/errors.ts), or
 * cuts the connection once a stream has begun.
 */
export function sendError(res: ServerResponse, err: CrsyncError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: err.toJSON() });
}

/** Path segments after decoding; a malformed escape is a 400, not a crash. */
export function pathParts(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  } catch {
    throw badRequest(`malformed percent-encoding in ${pathname}`);
  }
}

/** A `site` query parameter: 32 hex digits (16 bytes). */
export function siteParam(q: URLSearchParams, required: true): Buffer;
export function siteParam(q: URLSearchParams, required: false): Buffer | undefined;
export function siteParam(q: URLSearchParams, required: boolean): Buffer | undefined {
  const s = q.get('site');
  if (s === null && !required) return undefined;
  if (s === null || !/^[0-9a-fA-F]{32}$/.test(s)) throw badRequest('site must be 16 bytes in hex (32 hex digits)');
  return Buffer.from(s, 'hex');
}

function intParam(q: URLSearchParams, name: string, fallback: bigint, min: bigint): bigint {
  const s = q.get(name);
  if (s === null) return fallback;
  if (!/^-?\d{1,19}$/.test(s) || BigInt(s) < min) throw badRequest(`${name} must be an integer >= ${min}, got ${JSON.stringify(s)}`);
  return BigInt(s);
}

/** The `since` and `seq` parameters of a pull: where in the hub's stream to start. */
export function cursorParams(q: URLSearchParams): Cursor {
  return { version: intParam(q, 'since', START.version, START.version), seq: intParam(q, 'seq', START.seq, START.seq) };
}

/**
 * The `conflictsAfter` parameter of a pull: the newest hub conflict id the client has heard of
 * (or, by `name`, `resolutionsAfter`: the newest resolution id).
 */
export function conflictsAfterParam(q: URLSearchParams, name: 'conflictsAfter' | 'resolutionsAfter' = 'conflictsAfter'): bigint | undefined {
  return q.get(name) === null ? undefined : intParam(q, name, 0n, 0n);
}

/** The `pageSize` parameter (1..MAX_PAGE_SIZE). */
export function pageSizeParam(q: URLSearchParams): number {
  const n = intParam(q, 'pageSize', BigInt(DEFAULT_PAGE_SIZE), 1n);
  if (n > BigInt(MAX_PAGE_SIZE)) throw badRequest(`pageSize must be at most ${MAX_PAGE_SIZE}`);
  return Number(n);
}

/** The `wait` parameter of a live pull, in ms (0: an ordinary pull); above the cap it is the cap. */
export function waitParam(q: URLSearchParams): number {
  const n = intParam(q, 'wait', 0n, 0n);
  return Number(n > BigInt(MAX_LIVE_WAIT_MS) ? BigInt(MAX_LIVE_WAIT_MS) : n);
}

/** Refuses a body declared as something else (a missing Content-Type is taken as `expected`). */
export function checkContentType(req: IncomingMessage, expected: string): void {
  const type = req.headers['content-type'];
  if (type === undefined) return;
  if (type.split(';')[0]!.trim().toLowerCase() !== expected) {
    throw new CrsyncError('unsupported_media_type', `this endpoint takes ${expected}, not ${type}`, { hint: 'see docs/protocol.md for the body of each endpoint' });
  }
}

/** Reads a whole JSON body (its size and pace are checked by guardedBody). */
export async function readJsonBody(body: AsyncIterable<Buffer>): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('request body is not valid JSON');
  }
}
