import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync, mkdirSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { once } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { CrsyncError, UsageError, toCrsyncError } from '../errors.js';
import { openStore } from '../db/store.js';
import { stringifySqlJson } from '../values.js';
import { jsonSide } from '../db/conflicts/detect.js';
import { conflictToJson, cursorToJson, encodeConflicts, encodeEnd, encodeError, encodePage, readFrames } from '../sync/protocol/codec.js';
import { FRAMES_MEDIA_TYPE, PROTOCOL_VERSION, type Page } from '../sync/protocol/types.js';
import {
  DATASET_NAME, MAX_JSON_BODY, badRequest, checkContentType, conflictsAfterParam, cursorParams, pageSizeParam, pathParts, readJsonBody, sendError, sendJson, siteParam, statusOf, validSchemaRequest,
} from './request.js';
import { bodyStream, drainRefused, guardedBody } from './body.js';
import { BUSY_RETRY_AFTER_S, busyError, limitConnections } from './connections.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { ServedReplica, toWireConflict } from '../sync/endpoint.js';
import { findGrant, loadTokens, type TokenTable } from './tokens.js';
import { acceptsGzip } from './encoding.js';
import { requestLogEntry, type RequestLogEntry } from './request-log.js';

export type { RequestLogEntry };

/** Options of `crsync serve`. */
export interface ServeOptions {
  dir: string;
  host: string;
  port: number;
  tokensFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Body, frame, page and value sizes, timeouts and connections (defaults: DEFAULT_SERVER_LIMITS). */
  limits?: Partial<ServerLimits>;
  /** Where the hub logs request failures (stderr). */
  log?: (line: string) => void;
  /** Called once per request when its answer is done (the CLI prints one line per request). */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** A running hub. */
export interface RunningHub {
  url: string;
  /** Stops accepting, lets requests in flight finish, finalizes and closes every dataset. */
  close(): Promise<void>;
  /** The requests in flight ("POST /v1/datasets/shop/changes"), for the shutdown message. */
  inFlight(): string[];
}

/** Starts a hub serving one cr-sqlite database per dataset from `dir`. */
export async function startServer(opts: ServeOptions): Promise<RunningHub> {
  const limits = resolveLimits(opts.limits);
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const tokens: TokenTable | null = opts.tokensFile ? loadTokens(opts.tokensFile) : null;
  const datasets = new Map<string, ServedReplica>();
  const log = opts.log ?? (() => {});
  let inFlight = 0;
  let closing = false;

  const datasetPath = (name: string): string => {
    if (!DATASET_NAME.test(name) || name.includes('..')) {
      throw badRequest(`invalid dataset name ${JSON.stringify(name)}`, 'dataset names use letters, digits, ".", "_" and "-"');
    }
    const p = resolve(join(dir, `${name}.db`));
    if (!p.startsWith(dir + sep)) throw badRequest('dataset name escapes the hub folder');
    return p;
  };

  const dataset = (name: string, create: boolean): ServedReplica => {
    let d = datasets.get(name);
    if (d) return d;
    const path = datasetPath(name);
    if (!create && !existsSync(path)) {
      throw new CrsyncError('dataset_not_found', `no dataset named ${name} on this hub`, { hint: 'check the name, or create it with `crsync push --create`' });
    }
    d = new ServedReplica(openStore(path, { create }), name);
    datasets.set(name, d);
    return d;
  };

  /** What a client may size its pushes by. */
  const advertised = { maxBodyBytes: limits.maxBodyBytes, maxFrameBytes: limits.maxFrameBytes, maxPageSize: limits.maxPageSize, maxValueBytes: limits.maxValueBytes };

  /**
   * Waits until a pull's answer can take more; a client that stops reading is cut off. One timer
   * per wait, cleared when it ends: a pull waits thousands of times, and waits that left live
   * timers behind (AbortSignal.timeout) piled up in the old generation until a full GC.
   */
  const drained = (out: Writable, gone: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      const end = (err?: Error): void => {
        clearTimeout(timer);
        out.off('drain', onDrain);
        gone.removeEventListener('abort', onGone);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => end();
      const onGone = (): void => end(gone.reason as Error);
      const timer = setTimeout(() => end(new CrsyncError('request_timeout', `the client read nothing for ${limits.idleTimeoutMs} ms`)), limits.idleTimeoutMs);
      if (gone.aborted) return end(gone.reason as Error);
      out.once('drain', onDrain);
      gone.addEventListener('abort', onGone, { once: true });
    });

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

  /** GET /v1/datasets: the datasets in the folder that this request's token may use. */
  const listDatasets = (req: IncomingMessage): { name: string; bytes: number }[] => {
    let visible = (name: string): boolean => DATASET_NAME.test(name);
    if (tokens) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!m) throw new CrsyncError('unauthenticated', 'a token is required', { exitCode: 4 });
      const grant = findGrant(tokens, m[1]!);
      if (!grant) throw new CrsyncError('unauthenticated', 'unknown token', { exitCode: 4 });
      visible = (name) => DATASET_NAME.test(name) && (!grant.datasets || grant.datasets.has(name));
    }
    return readdirSync(dir)
      .filter((f) => f.endsWith('.db'))
      .map((f) => f.slice(0, -3))
      .filter(visible)
      .sort()
      .map((name) => ({ name, bytes: statSync(join(dir, `${name}.db`)).size }));
  };

  async function streamChanges(req: IncomingMessage, res: ServerResponse, d: ServedReplica, q: URLSearchParams): Promise<void> {
    const site = siteParam(q, true);
    const since = cursorParams(q);
    if (q.get('count')) {
      sendJson(res, 200, { count: d.countPending(site, since) });
      return;
    }
    // A client may ask for more than this hub allows: it gets smaller pages, not an error.
    const pageSize = Math.min(pageSizeParam(q), limits.maxPageSize);
    const conflictsAfter = conflictsAfterParam(q);
    const reader = d.openReader();
    let pages: Generator<Page>;
    try {
      // Before the answer starts, so a refusal (a cursor from the future) is still a JSON error.
      pages = d.pull(reader.db, site, since, pageSize);
    } catch (err) {
      reader.close();
      throw err;
    }
    const gzip = acceptsGzip(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, { 'content-type': FRAMES_MEDIA_TYPE, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    let out: Writable = res;
    if (gzip) {
      const z = createGzip({ level: 1 });
      z.pipe(res);
      out = z;
    }
    // A client that goes away mid-stream must not leave us waiting for a 'drain' that never comes.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    let changes = 0;
    let cursor = since;
    try {
      for (const page of pages) {
        if (gone.signal.aborted) return;
        changes += page.changes.length;
        cursor = page.cursor;
        if (!out.write(encodePage(page))) await drained(out, gone.signal);
        // Between pages, let other clients' requests run.
        await yieldToLoop();
      }
      // Conflicts this client's writes were part of, recorded here since it last asked.
      if (conflictsAfter !== undefined) {
        const c = d.conflictsFor(site, conflictsAfter);
        if (c.conflicts.length > 0 || c.lastId > conflictsAfter) out.write(encodeConflicts(c.conflicts, c.lastId));
      }
      out.end(encodeEnd({ cursor, changes }));
    } catch (err) {
      if (gone.signal.aborted) return;
      const e = toCrsyncError(err);
      log(`pull ${d.name}: ${e.message}`);
      if (e.code === 'request_timeout') {
        // The client stopped reading: nothing more can reach it.
        out.destroy();
        res.destroy();
        return;
      }
      out.end(encodeError(e.code, e.message));
    } finally {
      reader.close();
      if (gone.signal.aborted && out !== res) out.destroy();
    }
  }

  async function receivePush(req: IncomingMessage, res: ServerResponse, d: ServedReplica): Promise<void> {
    const enc = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (enc !== 'gzip' && enc !== 'identity') {
      throw new CrsyncError('unsupported_encoding', `unsupported content-encoding ${enc}`, { exitCode: 2, hint: 'send gzip or identity' });
    }
    checkContentType(req, FRAMES_MEDIA_TYPE);
    const source = guardedBody(bodyStream(req, enc), { ...limits, maxBytes: limits.maxBodyBytes, framed: true });
    let apply: ReturnType<ServedReplica['pushApplier']> | undefined;
    let reporter: Uint8Array | undefined;
    let received = 0;
    let pages = 0;
    const conflicts: ReturnType<typeof conflictToJson>[] = [];
    let cursor = { version: '0', seq: '-1' };
    try {
      for await (const frame of readFrames(source, limits)) {
        if (frame.type === 'header') {
          if (apply) throw new CrsyncError('bad_stream', 'a second header frame', { exitCode: 2 });
          if (frame.header.site.length !== 16) throw badRequest('the header site must be 16 bytes');
          apply = d.pushApplier(frame.header.site, frame.header.seen);
          reporter = frame.header.site;
          cursor = d.received(frame.header.site);
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
        } else if (frame.type === 'conflicts') {
          if (!reporter) throw new CrsyncError('bad_stream', 'conflicts came before the header', { exitCode: 2 });
          d.recordReported(reporter, frame.conflicts);
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
      if (!(err instanceof CrsyncError) && (z.code === 'ECONNRESET' || req.destroyed)) {
        throw new CrsyncError('truncated_stream', `the client went away mid-push (${pages} pages committed)`, { exitCode: 2 });
      }
      throw err;
    }
    // Pages before the cut are committed (with their cursor): the client resumes after them.
    throw new CrsyncError('truncated_stream', `push body ended before its last frame (${pages} pages committed)`, { exitCode: 2 });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub');
    const parts = pathParts(url.pathname);
    if (parts[0] === `v${PROTOCOL_VERSION}` && parts[1] === 'health' && parts.length === 2) {
      sendJson(res, 200, { ok: true, protocol: PROTOCOL_VERSION });
      return;
    }
    if (parts[0] === `v${PROTOCOL_VERSION}` && parts[1] === 'datasets' && parts.length === 2 && req.method === 'GET') {
      sendJson(res, 200, { datasets: listDatasets(req) });
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
    if (!write && (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined)) {
      throw badRequest(`a ${req.method} request takes no body`);
    }
    if (req.method === 'GET' && action === undefined) {
      const site = siteParam(url.searchParams, false);
      sendJson(res, 200, { ...dataset(name, false).info(site), limits: advertised });
    } else if (req.method === 'GET' && action === 'changes') {
      await streamChanges(req, res, dataset(name, false), url.searchParams);
    } else if (req.method === 'POST' && action === 'changes') {
      await receivePush(req, res, dataset(name, false));
    } else if (req.method === 'POST' && action === 'schema') {
      checkContentType(req, 'application/json');
      const body = validSchemaRequest(await readJsonBody(guardedBody(bodyStream(req, 'identity'), { ...limits, maxBytes: MAX_JSON_BODY, framed: false })));
      const applied = dataset(name, true).applySchema(body, 'push');
      sendJson(res, 200, { applied });
    } else {
      throw new CrsyncError('method_not_allowed', `no such endpoint ${req.method} ${url.pathname}`, { hint: 'GET the dataset or its changes; POST changes or schema' });
    }
  }

  const running = new Map<ServerResponse, string>();
  const readMark = new WeakMap<object, number>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    const started = performance.now();
    const at = new Date().toISOString();
    // Requests on one connection are served one after the other: the socket's counters' growth is this request's.
    const sock = req.socket;
    // Headers (and a small body) are read before this runs: count reads from the previous request's end.
    const [read0, written0] = [readMark.get(sock) ?? 0, sock.bytesWritten];
    running.set(res, `${req.method} ${(req.url ?? '/').split('?')[0]}`);
    res.on('close', () => {
      inFlight--;
      running.delete(res);
      readMark.set(sock, sock.bytesRead);
      if (!opts.onRequest) return;
      opts.onRequest(requestLogEntry(req, res.statusCode, at, sock.bytesRead - read0, sock.bytesWritten - written0, performance.now() - started));
    });
    let work: Promise<void>;
    if (closing) work = Promise.reject(new CrsyncError('shutting_down', 'the hub is shutting down', { hint: 'try again once it is back' }));
    else if (isOverLimit(req.socket)) {
      res.setHeader('retry-after', String(BUSY_RETRY_AFTER_S));
      res.setHeader('connection', 'close');
      work = Promise.reject(busyError(limits.maxConnections));
    } else work = handle(req, res);
    work.catch((err: unknown) => {
      const e = toCrsyncError(err);
      if (statusOf(e) >= 500 && e.code !== 'shutting_down' && e.code !== 'busy') log(`${req.method} ${req.url}: ${e.message}`);
      req.unpipe();
      // A body still coming after a refusal is read and dropped (a bounded amount) once the answer
      // is out, so the client gets the answer, not a reset. Too slow, too busy or shutting down:
      // answer and close.
      const unread = !res.headersSent && !req.complete;
      const linger = unread && !closing && e.code !== 'busy' && e.code !== 'request_timeout';
      if ((unread || closing) && !linger && !res.headersSent) res.setHeader('connection', 'close');
      sendError(res, e);
      if (linger) drainRefused(req, limits.idleTimeoutMs);
      else req.resume();
    });
  };

  // Node checks the headers timeout this often (its default, 30 s, is too coarse for short timeouts).
  const serverOptions = { connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))) };
  let server: Server;
  if (opts.tlsCert || opts.tlsKey) {
    if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
    server = createHttpsServer({ ...serverOptions, cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) }, onRequest);
  } else {
    server = createHttpServer(serverOptions, onRequest);
  }
  // A push streams for as long as it has pages: no limit on a whole request (Node's default is
  // 5 minutes), only on its headers, on silences and on trickling (guardedBody).
  const isOverLimit = limitConnections(server, limits, Boolean(opts.tlsCert));
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
    inFlight: () => [...running.values()],
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

