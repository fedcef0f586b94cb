import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { CrsyncError, UsageError, toCrsyncError } from '../errors.js';
import { conflictToJson, cursorToJson, readFrames, type Frame } from '../sync/protocol/codec.js';
import { FRAMES_MEDIA_TYPE, PROTOCOL_VERSION, START, type Page } from '../sync/protocol/types.js';
import {
  MAX_JSON_BODY, badRequest, checkContentType, checkDatasetName, pathParts, readJsonBody, sendError, sendJson, siteParam,
} from './request.js';
import { validSchemaRequest } from './schema-request.js';
import { MemoryBudget } from './budget.js';
import { DatasetQuota, resourceError } from './resources.js';
import { siteOwned } from './site-guard.js';
import { MAX_CONFLICTS_PER_FRAME } from '../sync/protocol/shape.js';
import { bodyStream, drainRefused, guardedBody } from './body.js';
import { BUSY_RETRY_AFTER_S, MAX_HEADER_BYTES, busyError, limitConnections } from './connections.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import type { Dataset } from './dataset-store.js';
import { openHubStore } from './open-store.js';
import { LivePulls } from './live.js';
import { pullStreamer } from './pull-stream.js';
import { loadTokens, type TokenGrant, type TokenTable } from './tokens.js';
import { HubAccess } from './access.js';
import { requestLogEntry, type RequestLogEntry } from './request-log.js';
import { Snapshots } from './snapshot.js';
import { receiveSnapshot } from './snapshot-upload.js';

export type { RequestLogEntry };

/** Options of `crsync serve`. */
export interface ServeOptions {
  /** Folder of the SQLite store (one file per dataset); exactly one of `dir` and `store`. */
  dir?: string;
  /** A postgres:// URL: every dataset in that PostgreSQL database (src/server/pg). */
  store?: string;
  /** Connections of the PostgreSQL store's pool (default DEFAULT_STORE_POOL). */
  storePool?: number;
  host: string;
  port: number;
  tokensFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Body, frame, page and value sizes, timeouts and connections (defaults: DEFAULT_SERVER_LIMITS). */
  limits?: Partial<ServerLimits>;
  /** Where the hub logs request failures (stderr). */
  log?: (line: string) => void;
  /** Close a dataset's connections after this long with no request in flight (default 60 s). */
  datasetIdleMs?: number;
  /** Called once per request when its answer is done (the CLI prints one line per request). */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** A running hub. */
export interface RunningHub {
  url: string;
  /** Where its datasets live, for messages (a folder, or the PostgreSQL URL without its password). */
  store: string;
  /** Stops accepting, lets requests in flight finish, finalizes and closes every dataset. */
  close(): Promise<void>;
  /** The requests in flight ("POST /v1/datasets/shop/changes"), for the shutdown message. */
  inFlight(): string[];
}

/** Starts a hub serving one cr-sqlite database per dataset from `dir`. */
export async function startServer(opts: ServeOptions): Promise<RunningHub> {
  const limits = resolveLimits(opts.limits);
  const tokens: TokenTable | null = opts.tokensFile ? loadTokens(opts.tokensFile) : null;
  const log = opts.log ?? (() => {});
  const opened = await openHubStore(opts, log);
  const { store, dir } = opened;
  const budget = new MemoryBudget(limits.maxMemoryBytes);
  const quota = new DatasetQuota((await store.list()).length, limits.maxDatasets);
  const access = new HubAccess(tokens, store, quota);
  const snapshots = new Snapshots(dir);
  let inFlight = 0;
  let closing = false;
  const live = new LivePulls(limits.maxLive);

  /** What a client may size its pushes by. */
  const advertised = { maxBodyBytes: limits.maxBodyBytes, maxFrameBytes: limits.maxFrameBytes, maxPageSize: limits.maxPageSize, maxValueBytes: limits.maxValueBytes };

  const streamChanges = pullStreamer({ limits, budget, live, log, closing: () => closing });

  async function receivePush(req: IncomingMessage, res: ServerResponse, d: Dataset, grant: TokenGrant | null): Promise<void> {
    const enc = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (enc !== 'gzip' && enc !== 'identity') {
      throw new CrsyncError('unsupported_encoding', `unsupported content-encoding ${enc}`, { hint: 'send gzip or identity' });
    }
    checkContentType(req, FRAMES_MEDIA_TYPE);
    const source = guardedBody(bodyStream(req, enc), { ...limits, maxBytes: limits.maxBodyBytes, framed: true, budget });
    const frames = readFrames(source, limits);
    let pages = 0;
    let reported = 0;
    try {
      const first = await frames.next();
      if (first.done) throw new CrsyncError('truncated_stream', 'push body ended before its last frame (0 pages committed)');
      const frame: Frame = first.value;
      if (frame.type === 'end') {
        sendJson(res, 200, { received: 0, pages: 0, cursor: cursorToJson(START), conflicts: [] });
        return;
      }
      if (frame.type === 'page') throw new CrsyncError('bad_stream', 'a page came before the header');
      if (frame.type === 'conflicts') throw new CrsyncError('bad_stream', 'conflicts came before the header');
      if (frame.type === 'resolutions') throw new CrsyncError('bad_stream', 'resolutions came before the header');
      if (frame.type === 'error') throw new CrsyncError('bad_stream', `the client failed: ${frame.message}`);
      if (frame.header.site.length !== 16) throw badRequest('the header site must be 16 bytes');
      const site = frame.header.site;
      // With tokens, a site id belongs to the token that first pushed as it.
      if (grant && !(await d.claimSite(site, grant.owner))) throw siteOwned(site);
      // The pages of the body, up to its end frame; conflicts frames are recorded on the way.
      async function* pageFrames(): AsyncGenerator<Page> {
        for await (const f of frames) {
          if (f.type === 'page') {
            yield f.page;
            pages++;
          } else if (f.type === 'header') throw new CrsyncError('bad_stream', 'a second header frame');
          else if (f.type === 'conflicts') {
            reported += f.conflicts.length;
            if (reported > MAX_CONFLICTS_PER_FRAME) {
              throw new CrsyncError('too_many_conflicts', `a push reports ${reported} conflicts, more than ${MAX_CONFLICTS_PER_FRAME}`, { hint: 'crsync sends at most this many per push and the rest with the next' });
            }
            const r = await d.recordReported(site, f.conflicts);
            if (r.refused > 0) log(`push ${d.name}: left out ${r.refused} reported conflicts that cannot be conflicts of this dataset`);
          } else if (f.type === 'resolutions') await d.recordResolutions(site, f.resolutions);
          else if (f.type === 'end') return;
          else throw new CrsyncError('bad_stream', `the client failed: ${f.message}`);
        }
        // Pages before the cut are committed (with their cursor): the client resumes after them.
        throw new CrsyncError('truncated_stream', `push body ended before its last frame (${pages} pages committed)`);
      }
      const r = await d.push(site, frame.header.seen, pageFrames());
      sendJson(res, 200, { ...r, conflicts: r.conflicts.map(conflictToJson) });
    } catch (err) {
      const z = err as { code?: string };
      if (z.code === 'Z_DATA_ERROR' || z.code === 'Z_BUF_ERROR') throw new CrsyncError('bad_stream', 'request body is not valid gzip');
      if (!(err instanceof CrsyncError) && (z.code === 'ECONNRESET' || req.destroyed)) {
        throw new CrsyncError('truncated_stream', `the client went away mid-push (${pages} pages committed)`);
      }
      throw err;
    } finally {
      await frames.return(undefined);
    }
  }

  /** Runs `fn` with a handle on the dataset, open for exactly as long as the request uses it. */
  async function withDataset(name: string, create: boolean, fn: (d: Dataset) => Promise<void>): Promise<void> {
    const d = await store.open(name, { create });
    try {
      await fn(d);
    } finally {
      await d.close();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before URL parsing, which would resolve a "." or ".." segment away (and answer 404).
    if (pathParts((req.url ?? '/').split('?')[0]!).some((p) => p === '.' || p === '..')) throw badRequest('a dataset name cannot be "." or ".."');
    const url = new URL(req.url ?? '/', 'http://hub');
    const parts = pathParts(url.pathname);
    if (parts[0] === `v${PROTOCOL_VERSION}` && parts[1] === 'health' && parts.length === 2) {
      sendJson(res, 200, { ok: true, protocol: PROTOCOL_VERSION });
      return;
    }
    if (parts[0] === `v${PROTOCOL_VERSION}` && parts[1] === 'datasets' && parts.length === 2 && req.method === 'GET') {
      sendJson(res, 200, { datasets: await access.listDatasets(req) });
      return;
    }
    if (parts[0] !== `v${PROTOCOL_VERSION}` || parts[1] !== 'datasets' || parts.length < 3 || parts.length > 4) {
      throw new CrsyncError('not_found', `no such endpoint ${url.pathname}`, { hint: `this hub speaks protocol v${PROTOCOL_VERSION}` });
    }
    const name = parts[2]!;
    const action = parts[3];
    checkDatasetName(name);
    const write = req.method === 'POST';
    const grant = access.authorize(req, name, write);
    if (!write && (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined)) {
      throw badRequest(`a ${req.method} request takes no body`);
    }
    if (req.method === 'GET' && action === undefined) {
      const site = siteParam(url.searchParams, false);
      await withDataset(name, false, async (d) => sendJson(res, 200, { ...(await d.info(site)), limits: advertised }));
    } else if (req.method === 'GET' && action === 'changes') {
      await withDataset(name, false, (d) => streamChanges(req, res, d, url.searchParams));
    } else if (req.method === 'GET' && action === 'snapshot') {
      await withDataset(name, false, (d) => snapshots.serve(req, res, d, limits.idleTimeoutMs));
    } else if (req.method === 'POST' && action === 'snapshot') {
      await receiveSnapshot(req, res, name, grant, { dir, store, access, quota, limits });
    } else if (req.method === 'POST' && action === 'changes') {
      await withDataset(name, false, (d) => receivePush(req, res, d, grant));
    } else if (req.method === 'POST' && action === 'schema') {
      checkContentType(req, 'application/json');
      const body = validSchemaRequest(await readJsonBody(guardedBody(bodyStream(req, 'identity'), { ...limits, maxBytes: MAX_JSON_BODY, framed: false })));
      const isNew = await access.mayCreate(name, grant);
      await withDataset(name, true, async (d) => {
        if (isNew) quota.created();
        sendJson(res, 200, { applied: await d.applySchema(body, 'push') });
      });
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
      const e = resourceError(err) ?? toCrsyncError(err);
      if (e.status >= 500 && e.code !== 'shutting_down' && e.code !== 'busy' && e.code !== 'hub_busy') log(`${req.method} ${req.url}: ${e.message}`);
      if (e.code === 'busy' && !res.headersSent) res.setHeader('retry-after', String(BUSY_RETRY_AFTER_S));
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
  const serverOptions = { connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))), maxHeaderSize: MAX_HEADER_BYTES };
  let server: Server;
  if (opts.tlsCert || opts.tlsKey) {
    if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
    server = createHttpsServer({ ...serverOptions, handshakeTimeout: limits.headersTimeoutMs, cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) }, onRequest);
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
    await opened.release();
    throw new CrsyncError('listen_failed', `cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`, {
      hint: 'pick another --port (0 picks a free one)',
    });
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${opts.tlsCert ? 'https' : 'http'}://${host}:${addr.port}`;

  return {
    url,
    store: opened.label,
    inFlight: () => [...running.values()],
    async close() {
      closing = true;
      live.release();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const deadline = Date.now() + 15_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
      snapshots.close();
      await store.close();
      await opened.release();
    },
  };
}

