import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import { createGunzip, createGzip, constants as zlibConstants } from 'node:zlib';
import { AuthError, CrsyncError, ERRORS, UnreachableError, UsageError, codeOfAnswer } from '../../errors.js';
import { parseHubUrl } from './url.js';
import { conflictFromJson, encodeConflicts, encodeEnd, encodeResolutions, encodeHeader, encodePage, readFrames, type WireConflictJson } from '../protocol/codec.js';
import { FRAMES_MEDIA_TYPE, PROTOCOL_VERSION, START, type DatasetInfo, type Page, type PushResponse, type SchemaRequest, type StreamEnd } from '../protocol/types.js';
import type { PullRequest, PushRequest, RequestObserver, SnapshotReceipt, SnapshotUploadMeta, SnapshotUploadReceipt, TransferStats, Transport } from './transport.js';
import { downloadSnapshot, packUpload, snapshotUploadBody, uploadReceipt } from './http-snapshot.js';
import { HttpAgent, type HttpResponse } from './http-agent.js';

/** OpenSSL and Node codes of a certificate that cannot be verified. */
const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

function networkError(err: unknown, origin: string): CrsyncError | undefined {
  if (err instanceof CrsyncError) return err;
  const e = err as { code?: string; cause?: { code?: string; name?: string }; name?: string; message?: string };
  const code = e.code ?? e.cause?.code;
  if (typeof code === 'string' && TLS_CODE.test(code)) {
    // Not transient: retrying cannot make the certificate trusted.
    return new CrsyncError('tls_error', `cannot verify the TLS certificate of ${origin}: ${e.message ?? code}`, {
      hint: 'if the hub uses its own certificate, trust it with NODE_EXTRA_CA_CERTS=<cert.pem>',
      cause: err,
    });
  }
  // A DOMException (TimeoutError, AbortError) carries a numeric code; an aborted request wraps it.
  const timedOut = e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError' || code === 'ETIMEDOUT';
  if (timedOut || (typeof code === 'string' && NETWORK_CODES.has(code))) {
    return new UnreachableError(`cannot reach ${origin}: ${timedOut ? 'timeout' : code}`, 'check that the hub runs and the URL is right; local work is unaffected and can sync later', err);
  }
  return undefined;
}

/** How much longer than a live pull's wait the hub may stay silent before the pull counts as failed. */
export const LIVE_GRACE_MS = 10_000;

/** Pull answers up to this size with a Content-Length are read whole (hubs send theirs under 16 KiB so). */
const WHOLE_ANSWER_BYTES = 64 * 1024;

/** Counts bytes flowing through. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/** One dataset of a hub, as GET /v1/datasets lists it. */
export interface HubDataset {
  name: string;
  bytes: number;
}

/** The origin of a hub URL given with or without a dataset (http(s)://host:port[/...]). */
function parseHubOrigin(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin;
  } catch {
    // reported below
  }
  throw new UsageError(`invalid hub URL ${url.replace(/\/\/[^/@]*@/, '//…@')}`, 'use http(s)://host:port');
}

/** The HTTP transport to a `crsync serve` hub (keep-alive connections, timeouts). */
export class HttpTransport implements Transport {
  readonly stats: TransferStats = { bytesSent: 0, bytesReceived: 0 };
  private readonly agent: HttpAgent;
  private readonly origin: string;
  private readonly base: string;

  private readonly tokenEnv: string;
  private readonly silenceMs: number | undefined;

  constructor(
    readonly url: string,
    private readonly token: string | undefined,
    /**
     * `hubOnly`: a hub as a whole (its dataset list), not one dataset: the URL needs no dataset then.
     * `tokenEnv`: the variable the token comes from, named in the hint when the hub refuses.
     * `onRequest`: told of each HTTP request once it ended (`-v`).
     * `silenceMs`: the longest silence of the hub on a request other than a push (whose client
     * side may be silent for long) before it fails, and beyond the wait of a held pull. Default:
     * 120 s on ordinary requests, a pull's wait + LIVE_GRACE_MS on held ones. Live sync sets it,
     * so a hub that accepts connections and never answers is given up on soon.
     */
    opts: { hubOnly?: boolean; tokenEnv?: string; onRequest?: RequestObserver; silenceMs?: number } = {},
  ) {
    const hubOnly = opts.hubOnly === true;
    this.silenceMs = opts.silenceMs;
    this.tokenEnv = opts.tokenEnv ?? 'CRSYNC_TOKEN';
    const { origin, dataset } = hubOnly ? { origin: parseHubOrigin(url), dataset: '' } : parseHubUrl(url);
    this.origin = origin;
    this.base = hubOnly ? `${origin}/v${PROTOCOL_VERSION}/datasets` : `${origin}/v${PROTOCOL_VERSION}/datasets/${encodeURIComponent(dataset)}`;
    this.agent = new HttpAgent(origin, opts.onRequest);
  }

  /** The datasets of the hub this token may use (GET /v1/datasets). */
  async listDatasets(): Promise<HubDataset[]> {
    const body = await this.json<{ datasets?: HubDataset[] }>(await this.send('GET', ''));
    if (!Array.isArray(body.datasets)) throw new CrsyncError('bad_response', `${this.origin} did not answer like a crsync hub`, { hint: 'check the URL, and that the hub runs a crsync version that lists datasets' });
    return body.datasets;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': 'crsync', ...extra };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    opts: { body?: Readable | string; headers?: Record<string, string>; signal?: AbortSignal; idleTimeout?: number } = {},
  ): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await this.agent.request(method, this.base + path, {
        headers: this.headers(opts.headers),
        body: opts.body,
        signal: opts.signal,
        idleTimeout: opts.idleTimeout ?? this.silenceMs,
      });
    } catch (err) {
      throw networkError(err, this.origin) ?? err;
    }
    if (res.statusCode >= 400) {
      const text = await res.text().catch(() => '');
      // A refused upload stops here: the rest of the body would be sent for nothing.
      if (opts.body instanceof Readable) opts.body.destroy();
      throw this.httpError(res.statusCode, text);
    }
    return res;
  }

  /** A hub's error answer as the error the hub threw: its code (src/errors.ts) sets the exit code. */
  private httpError(status: number, text: string): CrsyncError {
    let body: { error?: { code?: unknown; message?: string; hint?: string; details?: unknown } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: keep the status line only
    }
    const msg = body.error?.message ?? `HTTP ${status}`;
    const hint = body.error?.hint;
    const details = body.error?.details;
    const code = codeOfAnswer(status, body.error?.code);
    // The hub's own hint speaks HTTP (an Authorization header); a crsync user sets a variable.
    if (code === 'auth_failed') {
      const where = this.tokenEnv === 'CRSYNC_TOKEN' ? 'CRSYNC_TOKEN (or the remote\'s --token-env)' : `${this.tokenEnv} (the remote's --token-env)`;
      return new AuthError(`the hub refused the credentials: ${msg}`, this.token ? `the token is not one the hub knows: check ${where}` : `set ${where}`);
    }
    if (code === 'forbidden') return new AuthError(`the hub refused access: ${msg}`, hint ?? 'the token lacks the right for this dataset or action', 'forbidden');
    if (code === 'remote_unavailable') return new CrsyncError(code, `${this.origin} is unavailable (HTTP ${status})`, { hint: 'try again later' });
    if (status === 404) return new CrsyncError(code, `${this.url}: ${msg}`, { hint: hint ?? 'check the dataset name (crsync remote -v); `crsync push --create` creates one', details });
    if (ERRORS[code].family === 'schema_mismatch') return new CrsyncError(code, msg, { hint, details });
    return new CrsyncError(code, `the hub answered ${status}: ${msg}`, { hint, details });
  }

  /** Reads a JSON answer; anything else means the URL is not a crsync hub. */
  private async json<T>(res: HttpResponse): Promise<T> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw networkError(err, this.origin) ?? err;
    }
    this.stats.bytesReceived += Buffer.byteLength(text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CrsyncError('bad_response', `${this.origin} did not answer like a crsync hub`, { hint: 'check the remote URL (crsync remote list)' });
    }
  }

  async info(site: Uint8Array, signal?: AbortSignal): Promise<DatasetInfo> {
    const info = await this.json<DatasetInfo>(await this.send('GET', `?site=${Buffer.from(site).toString('hex')}`, { signal }));
    if (info?.protocol !== PROTOCOL_VERSION || typeof info.siteId !== 'string' || !Array.isArray(info.schema?.tables)) {
      throw new CrsyncError('bad_response', `${this.origin} did not answer like a crsync hub (protocol v${PROTOCOL_VERSION})`, { hint: 'check the remote URL, and that both sides run compatible crsync versions' });
    }
    return info;
  }

  async pull(req: PullRequest, onPage: (page: Page) => void | Promise<void>, signal?: AbortSignal): Promise<StreamEnd> {
    let q = `/changes?since=${req.since.version}&seq=${req.since.seq}&site=${Buffer.from(req.site).toString('hex')}&pageSize=${req.pageSize}`;
    if (req.conflictsAfter !== undefined) q += `&conflictsAfter=${req.conflictsAfter}`;
    if (req.resolutionsAfter !== undefined) q += `&resolutionsAfter=${req.resolutionsAfter}`;
    if (req.waitMs) q += `&wait=${req.waitMs}`;
    if (req.known) q += `&knownSite=${req.known.site}&knownSchema=${req.known.schemaHash}`;
    // A held live pull is silent for up to its wait: a hub silent for longer than that is dead.
    const idleTimeout = req.waitMs ? req.waitMs + (this.silenceMs ?? LIVE_GRACE_MS) : undefined;
    const res = await this.send('GET', q, { headers: { 'accept-encoding': 'gzip', accept: FRAMES_MEDIA_TYPE }, signal, idleTimeout });
    req.onAnswer?.();
    let ended = false;
    try {
      for await (const frame of readFrames(await this.pullBody(res))) {
        if (frame.type === 'page') await onPage(frame.page);
        else if (frame.type === 'end') {
          ended = true;
          return frame.end;
        }
        else if (frame.type === 'conflicts') req.onConflicts?.(frame.conflicts, frame.lastId);
        else if (frame.type === 'resolutions') req.onResolutions?.(frame.resolutions, frame.lastId);
        else if (frame.type === 'error') throw new CrsyncError('remote_error', `the hub failed mid-stream: ${frame.message}`, { hint: 'run the command again; it resumes from the last committed page' });
      }
    } catch (err) {
      if (err instanceof CrsyncError) throw err;
      if (signal?.aborted) throw signal.reason;
      const z = err as { code?: string };
      if (z.code === 'Z_BUF_ERROR' || z.code === 'Z_DATA_ERROR') {
        throw new CrsyncError('truncated_stream', 'the change stream was cut off', { hint: 'run the command again; it resumes from the last committed page' });
      }
      throw networkError(err, this.origin) ?? err;
    } finally {
      if (ended) res.done();
      else res.body.destroy();
    }
    throw new CrsyncError('truncated_stream', 'the change stream ended before its last frame', { hint: 'run the command again; it resumes from the last committed page' });
  }

  /**
   * A pull's body as bytes to read frames from: a small answer sent whole (a Content-Length, no
   * coding: what a live pull mostly gets) is read in one piece, without a stream pipeline.
   */
  private async pullBody(res: HttpResponse): Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>> {
    const length = Number(res.headers['content-length'] ?? NaN);
    if (res.headers['content-encoding'] === undefined && length <= WHOLE_ANSWER_BYTES) {
      const body = await res.bytes();
      this.stats.bytesReceived += body.length;
      return [body];
    }
    const source = res.headers['content-encoding'] === 'gzip' ? createGunzip() : new PassThrough();
    // pipeline forwards a socket error to `source`, so the frame reader fails instead of hanging.
    pipeline(res.body, counter((n) => (this.stats.bytesReceived += n)), source, () => {});
    return source;
  }

  async push(req: PushRequest, pages: AsyncIterable<Page>, signal?: AbortSignal): Promise<PushResponse> {
    async function* frames(): AsyncGenerator<Buffer> {
      yield encodeHeader({ site: req.site, schemaHash: req.schemaHash, seen: req.seen });
      let cursor = undefined as Page['cursor'] | undefined;
      let changes = 0;
      for await (const page of pages) {
        cursor = page.cursor;
        changes += page.changes.length;
        yield encodePage(page);
      }
      if (req.conflicts && req.conflicts.length > 0) yield encodeConflicts(req.conflicts, 0n);
      if (req.resolutions && req.resolutions.length > 0) yield encodeResolutions(req.resolutions, 0n);
      yield encodeEnd({ cursor: cursor ?? START, changes });
    }
    // Each frame is flushed as it is written: the hub sees steady progress (its idle and rate limits),
    // even while a long run of excluded changes yields only small empty pages.
    const gzip = createGzip({ level: 1, flush: zlibConstants.Z_SYNC_FLUSH });
    const body = new PassThrough();
    pipeline(Readable.from(frames()), gzip, counter((n) => (this.stats.bytesSent += n)), body, () => {});
    const res = await this.send('POST', '/changes', {
      body,
      headers: { 'content-type': FRAMES_MEDIA_TYPE, 'content-encoding': 'gzip' },
      signal,
      // The hub answers a push at its end; reading a long run of changes the hub already has
      // sends nothing for a while, so allow more than a plain request.
      idleTimeout: 300_000,
    });
    const json = await this.json<Omit<PushResponse, 'conflicts'> & { conflicts: WireConflictJson[] }>(res);
    return { ...json, conflicts: json.conflicts.map(conflictFromJson) };
  }

  async applySchema(req: SchemaRequest, signal?: AbortSignal): Promise<void> {
    const res = await this.send('POST', '/schema', { body: JSON.stringify(req), headers: { 'content-type': 'application/json' }, signal });
    await this.json<unknown>(res);
  }

  async countPending(req: PullRequest, timeoutMs: number): Promise<number> {
    const q = `/changes?count=1&since=${req.since.version}&seq=${req.since.seq}&site=${Buffer.from(req.site).toString('hex')}`;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await this.send('GET', q, { signal });
      return (await this.json<{ count: number }>(res)).count;
    } catch (err) {
      // Our own deadline, not the network's: if the hub still answers its health check, it took
      // the request and is slow; a socket that answers nothing at all is unreachable.
      if (signal.aborted && err instanceof UnreachableError && (await this.answersHealth())) {
        throw new CrsyncError('remote_slow', `${this.origin} did not answer within ${timeoutMs} ms`, {
          hint: 'the hub is busy; wait longer with --timeout',
          cause: err,
        });
      }
      throw err;
    }
  }

  async snapshot(out: string, signal?: AbortSignal): Promise<SnapshotReceipt | null> {
    const request = (headers: Record<string, string>, sig?: AbortSignal): Promise<HttpResponse> => this.send('GET', '/snapshot', { headers, signal: sig });
    try {
      return await downloadSnapshot(this.url, out, request, (n) => (this.stats.bytesReceived += n), signal);
    } catch (err) {
      throw networkError(err, this.origin) ?? err;
    }
  }

  async uploadSnapshot(copy: string, meta: SnapshotUploadMeta, signal?: AbortSignal): Promise<SnapshotUploadReceipt | null> {
    const { body, headers } = snapshotUploadBody(await packUpload(copy), meta, (n) => (this.stats.bytesSent += n));
    let res: HttpResponse;
    try {
      // The hub answers once it has checked and installed the file: allow it the time.
      res = await this.send('POST', '/snapshot', { body, headers, signal, idleTimeout: 300_000 });
    } catch (err) {
      // An older hub (or a store that takes no files): push the change stream instead.
      if (err instanceof CrsyncError && (err.code === 'not_found' || err.code === 'method_not_allowed')) return null;
      throw err;
    }
    return uploadReceipt(await this.json<unknown>(res), this.origin);
  }

  /** True when the hub answers `GET /v1/health` within a second or two. */
  private async answersHealth(): Promise<boolean> {
    try {
      const res = await this.agent.request('GET', `${this.origin}/v${PROTOCOL_VERSION}/health`, { headers: this.headers(), signal: AbortSignal.timeout(2000) });
      await res.text();
      return res.statusCode < 500;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.agent.close();
  }
}
