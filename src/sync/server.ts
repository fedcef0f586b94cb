import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { once } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createGzip, createGunzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { CrsyncError, UsageError, toCrsyncError } from '../errors.js';
import { openStore } from '../db/store.js';
import { stringifySqlJson, stringifyJson } from '../values.js';
import { jsonSide } from '../db/conflict-detect.js';
import { conflictToJson, cursorToJson, encodeEnd, encodeError, encodePage, readFrames } from './codec.js';
import { DEFAULT_PAGE_SIZE, FRAMES_MEDIA_TYPE, PROTOCOL_VERSION, type SchemaRequest } from './protocol.js';
import { ServedReplica, toWireConflict } from './served.js';
import { findGrant, loadTokens, type TokenTable } from './tokens.js';

/** Options of `crsync serve`. */
export interface ServeOptions {
  dir: string;
  host: string;
  port: number;
  tokensFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Where the hub logs request failures (stderr). */
  log?: (line: string) => void;
}

/** A running hub. */
export interface RunningHub {
  url: string;
  /** Stops accepting, lets requests in flight finish, finalizes and closes every dataset. */
  close(): Promise<void>;
}

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_JSON_BODY = 1024 * 1024;

function statusOf(err: CrsyncError): number {
  if (err.code === 'dataset_not_found' || err.code === 'not_found') return 404;
  if (err.code === 'frame_too_large' || err.code === 'body_too_large') return 413;
  if (err.code === 'unauthenticated') return 401;
  if (err.exitCode === 4) return 403;
  if (err.exitCode === 5) return 409;
  if (err.exitCode === 2 || ['bad_stream', 'truncated_stream', 'bad_request', 'same_site'].includes(err.code)) return 400;
  return 500;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = stringifyJson(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: CrsyncError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, statusOf(err), { error: err.toJSON() });
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) throw new CrsyncError('body_too_large', `request body over ${MAX_JSON_BODY} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new CrsyncError('bad_request', 'request body is not valid JSON', { exitCode: 2 });
  }
}

const IDENT_OK = (s: unknown): boolean => typeof s === 'string' && s.length > 0 && s.length <= 256 && !s.includes('\0');
const TYPE_OK = /^[A-Za-z0-9_ (),]*$/;
// Defaults travel as SQL text: only literals are accepted, so a request cannot smuggle SQL in.
const DEFAULT_OK = /^\(?\s*(NULL|TRUE|FALSE|CURRENT_TIME|CURRENT_DATE|CURRENT_TIMESTAMP|[-+]?\d+(\.\d+)?([eE][-+]?\d+)?|'([^']|'')*'|[xX]'[0-9a-fA-F]*')\s*\)?$/;

function validSchemaRequest(body: unknown): SchemaRequest {
  const b = body as SchemaRequest;
  const ok =
    b && Array.isArray(b.tables) && typeof b.version === 'number' &&
    b.tables.every((t) => IDENT_OK(t?.name) && !/^(crsync_|crsql_|sqlite_)/.test(t.name) && !t.name.includes('__crsql_') && Array.isArray(t.columns) && t.columns.length > 0 &&
      t.columns.every((c) => IDENT_OK(c?.name) && typeof c.type === 'string' && TYPE_OK.test(c.type) && typeof c.notnull === 'boolean' && Number.isInteger(c.pk) && (c.dflt === null || (typeof c.dflt === 'string' && DEFAULT_OK.test(c.dflt)))));
  if (!ok) throw new CrsyncError('bad_request', 'schema request is malformed', { exitCode: 2, hint: 'tables need names and columns; defaults must be literals' });
  return b;
}

/** Starts a hub serving one cr-sqlite database per dataset from `dir`. */
export async function startServer(opts: ServeOptions): Promise<RunningHub> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const tokens: TokenTable | null = opts.tokensFile ? loadTokens(opts.tokensFile) : null;
  const datasets = new Map<string, ServedReplica>();
  const log = opts.log ?? (() => {});
  let inFlight = 0;
  let closing = false;

  const datasetPath = (name: string): string => {
    if (!DATASET_NAME.test(name) || name.includes('..')) {
      throw new CrsyncError('bad_request', `invalid dataset name ${JSON.stringify(name)}`, {
        exitCode: 2,
        hint: 'dataset names use letters, digits, ".", "_" and "-"',
      });
    }
    const p = resolve(join(dir, `${name}.db`));
    if (!p.startsWith(dir + sep)) throw new CrsyncError('bad_request', 'dataset name escapes the hub folder', { exitCode: 2 });
    return p;
  };

  const dataset = (name: string, create: boolean): ServedReplica => {
    let d = datasets.get(name);
    if (d) return d;
    const path = datasetPath(name);
    if (!create && !existsSync(path)) {
      throw new CrsyncError('dataset_not_found', `no dataset named ${name} on this hub`, { hint: 'push to create it, or check the name' });
    }
    d = new ServedReplica(openStore(path, { create }), name);
    datasets.set(name, d);
    return d;
  };

  const authorize = (req: IncomingMessage, name: string, write: boolean): void => {
    if (!tokens) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new CrsyncError('unauthenticated', 'a token is required', { exitCode: 4, hint: 'send Authorization: Bearer <token>' });
    const grant = findGrant(tokens, m[1]!);
    if (!grant) throw new CrsyncError('unauthenticated', 'unknown token', { exitCode: 4 });
    if (grant.datasets && !grant.datasets.has(name)) throw new CrsyncError('forbidden', `the token may not use dataset ${name}`, { exitCode: 4 });
    if (write && !grant.write) throw new CrsyncError('forbidden', 'the token is read-only', { exitCode: 4 });
  };

  async function streamChanges(req: IncomingMessage, res: ServerResponse, d: ServedReplica, q: URLSearchParams): Promise<void> {
    const site = Buffer.from(q.get('site') ?? '', 'hex');
    if (site.length !== 16) throw new CrsyncError('bad_request', 'site must be 16 bytes in hex', { exitCode: 2 });
    const since = { version: BigInt(q.get('since') ?? '0'), seq: BigInt(q.get('seq') ?? '-1') };
    if (q.get('count')) {
      sendJson(res, 200, { count: d.countPending(site, since) });
      return;
    }
    const pageSize = Math.min(Math.max(Number(q.get('pageSize') ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE, 1), 100_000);
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, { 'content-type': FRAMES_MEDIA_TYPE, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    let out: Writable = res;
    if (gzip) {
      const z = createGzip({ level: 1 });
      z.pipe(res);
      out = z;
    }
    const reader = d.openReader();
    let gone = false;
    res.on('close', () => (gone = true));
    let changes = 0;
    let cursor = since;
    try {
      for (const page of d.pull(reader.db, site, since, pageSize)) {
        if (gone) return;
        changes += page.changes.length;
        cursor = page.cursor;
        if (!out.write(encodePage(page))) await once(out, 'drain');
        // Between pages, let other clients' requests run.
        await yieldToLoop();
      }
      out.end(encodeEnd({ cursor, changes }));
    } catch (err) {
      const e = toCrsyncError(err);
      log(`pull ${d.name}: ${e.message}`);
      out.end(encodeError(e.code, e.message));
    } finally {
      reader.close();
    }
  }

  async function receivePush(req: IncomingMessage, res: ServerResponse, d: ServedReplica): Promise<void> {
    const enc = String(req.headers['content-encoding'] ?? 'identity');
    if (enc !== 'gzip' && enc !== 'identity') throw new CrsyncError('bad_request', `unsupported content-encoding ${enc}`, { exitCode: 2 });
    let source: AsyncIterable<Uint8Array> = req;
    if (enc === 'gzip') {
      const gunzip = createGunzip();
      req.pipe(gunzip);
      req.on('error', (e) => gunzip.destroy(e));
      source = gunzip;
    }
    let apply: ReturnType<ServedReplica['pushApplier']> | undefined;
    let received = 0;
    let pages = 0;
    const conflicts: ReturnType<typeof conflictToJson>[] = [];
    let cursor = { version: '0', seq: '-1' };
    try {
      for await (const frame of readFrames(source)) {
        if (frame.type === 'header') {
          apply = d.pushApplier(frame.header.site, frame.header.seen);
          cursor = d.info(frame.header.site).received!;
        } else if (frame.type === 'page') {
          if (!apply) throw new CrsyncError('bad_stream', 'a page came before the header', { exitCode: 2 });
          const r = apply(frame.page);
          received += r.received;
          pages++;
          cursor = cursorToJson(frame.page.cursor);
          for (const c of r.conflicts) {
            conflicts.push(conflictToJson(toWireConflict(c, stringifySqlJson(jsonSide(c.ours)), stringifySqlJson(jsonSide(c.theirs)))));
          }
          await yieldToLoop();
        } else if (frame.type === 'end') {
          sendJson(res, 200, { received, pages, cursor, conflicts });
          return;
        } else {
          throw new CrsyncError('bad_stream', `the client failed: ${frame.message}`, { exitCode: 2 });
        }
      }
    } catch (err) {
      const z = err as { code?: string };
      if (z.code === 'Z_DATA_ERROR' || z.code === 'Z_BUF_ERROR') throw new CrsyncError('bad_stream', 'request body is not valid gzip', { exitCode: 2 });
      throw err;
    }
    // Pages before the cut are committed (with their cursor): the client resumes after them.
    throw new CrsyncError('truncated_stream', `push body ended before its last frame (${pages} pages committed)`, { exitCode: 2 });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub');
    const parts = url.pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    if (parts[0] === `v${PROTOCOL_VERSION}` && parts[1] === 'health' && parts.length === 2) {
      sendJson(res, 200, { ok: true, protocol: PROTOCOL_VERSION });
      return;
    }
    if (parts[0] !== `v${PROTOCOL_VERSION}` || parts[1] !== 'datasets' || parts.length < 3 || parts.length > 4) {
      throw new CrsyncError('not_found', `no such endpoint ${url.pathname}`, { hint: `this hub speaks protocol v${PROTOCOL_VERSION}` });
    }
    const name = parts[2]!;
    const action = parts[3];
    datasetPath(name);
    const write = req.method === 'POST';
    authorize(req, name, write);
    if (req.method === 'GET' && action === undefined) {
      const site = url.searchParams.get('site');
      sendJson(res, 200, dataset(name, false).info(site ? Buffer.from(site, 'hex') : undefined));
    } else if (req.method === 'GET' && action === 'changes') {
      await streamChanges(req, res, dataset(name, false), url.searchParams);
    } else if (req.method === 'POST' && action === 'changes') {
      await receivePush(req, res, dataset(name, false));
    } else if (req.method === 'POST' && action === 'schema') {
      const body = validSchemaRequest(await readJsonBody(req));
      const applied = dataset(name, true).applySchema(body, 'push');
      sendJson(res, 200, { applied });
    } else {
      throw new CrsyncError('not_found', `no such endpoint ${req.method} ${url.pathname}`);
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
    });
    if (closing) res.setHeader('connection', 'close');
    handle(req, res).catch((err: unknown) => {
      const e = toCrsyncError(err);
      if (statusOf(e) >= 500) log(`${req.method} ${req.url}: ${e.message}`);
      sendError(res, e);
      // Unread request bodies would keep the socket busy.
      req.resume();
    });
  };

  let server: Server;
  if (opts.tlsCert || opts.tlsKey) {
    if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
    server = createHttpsServer({ cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) }, onRequest);
  } else {
    server = createHttpServer(onRequest);
  }
  server.listen(opts.port, opts.host);
  try {
    await once(server, 'listening');
  } catch (err) {
    throw new CrsyncError('listen_failed', `cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`, {
      hint: 'pick another --port (0 picks a free one)',
    });
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${opts.tlsCert ? 'https' : 'http'}://${host}:${addr.port}`;

  return {
    url,
    async close() {
      closing = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const deadline = Date.now() + 15_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
      for (const d of datasets.values()) d.store.close();
      datasets.clear();
    },
  };
}
