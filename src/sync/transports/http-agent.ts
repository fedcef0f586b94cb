import * as http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { pipeline, type Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { RequestObserver } from './transport.js';

/**
 * HTTP requests on Node's own client: keep-alive connections to one origin, a connect timeout,
 * an idle timeout, abort signals, and streamed request bodies.
 *
 * Node's client (llhttp compiled into the binary) costs a few milliseconds to load; a full
 * HTTP client library costs tens, plus a WebAssembly parser on the first request. A CLI run is
 * one short process per command, so that start-up is most of a no-op sync.
 */

/** An answer whose headers have arrived; its body streams from `body`. */
export interface HttpResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  /** Reads the whole body as UTF-8 text. */
  text(): Promise<string>;
  /** Reads the whole body. */
  bytes(): Promise<Buffer>;
  /**
   * Ends the answer once the caller has read all it needs (a change stream's end frame: what
   * follows is only the gzip trailer and the chunked terminator): reported as a whole answer.
   */
  done(): void;
}

export interface HttpRequestOptions {
  headers: Record<string, string>;
  body?: Readable | string;
  signal?: AbortSignal;
  /** Milliseconds without a byte either way before the request fails (default 120 s). */
  idleTimeout?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 120_000;

function timeoutError(what: string, ms: number): Error {
  return Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' });
}

function readBytes(body: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    body.once('error', reject);
    body.once('aborted', () => reject(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
  });
}

/**
 * node:https brings TLS with it, ~6 ms of a CLI process's start-up (measured: 31M instructions
 * over node:http and node:zlib): only an https remote loads it, on first use.
 */
let httpsModule: typeof Https | undefined;
function https(): typeof Https {
  httpsModule ??= createRequire(import.meta.url)('node:https') as typeof Https;
  return httpsModule;
}

export class HttpAgent {
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(
    origin: string,
    /** Told of each request once it has ended (`-v`). */
    private readonly onRequest?: RequestObserver,
  ) {
    this.secure = origin.startsWith('https:');
    const opts = { keepAlive: true, maxSockets: 4 };
    this.agent = this.secure ? new (https().Agent)(opts) : new http.Agent(opts);
  }

  request(method: string, url: string, opts: HttpRequestOptions): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      let bodyError: Error | undefined;
      const mod = this.secure ? https() : http;
      const req = mod.request(url, { method, agent: this.agent, headers: opts.headers, signal: opts.signal });
      const report = this.onRequest ? this.observe(method, url, req) : undefined;
      const idle = opts.idleTimeout ?? IDLE_TIMEOUT_MS;
      req.setTimeout(idle, () => req.destroy(timeoutError('the request', idle)));
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => req.destroy(timeoutError('connecting', CONNECT_TIMEOUT_MS)), CONNECT_TIMEOUT_MS);
        socket.once(this.secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      // An abort ends with the signal's reason (the caller's own error), as fetch does.
      req.on('error', (err) => {
        report?.((err as NodeJS.ErrnoException).code ?? err.message);
        reject(opts.signal?.aborted ? opts.signal.reason : (bodyError ?? err));
      });
      req.once('response', (res) => {
        let whole = false;
        if (report) {
          // 'end' comes before the socket goes back to the pool (its counters are still ours).
          res.once('end', () => report());
          res.once('close', () => report(res.complete || whole ? undefined : 'cut off'));
        }
        const done = (): void => {
          whole = true;
          res.destroy();
        };
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res, text: async () => (await readBytes(res)).toString('utf8'), bytes: () => readBytes(res), done });
      });
      if (opts.body === undefined) req.end();
      else if (typeof opts.body === 'string') req.end(opts.body);
      else {
        const body = opts.body;
        // A failure producing the body (say, reading the database) is the error to report.
        body.on('error', (err) => (bodyError ??= err));
        pipeline(body, req, () => {});
      }
    });
  }

  /**
   * Reports one request once: the bytes are the socket's counters since the request took it
   * (a keep-alive socket carries one request at a time), so headers and gzip are counted as sent.
   */
  private observe(method: string, url: string, req: http.ClientRequest): (error?: string) => void {
    const started = performance.now();
    const { pathname, search } = new URL(url);
    let socket: Socket | undefined;
    let at = { read: 0, written: 0 };
    let status: number | null = null;
    req.once('socket', (s: Socket) => {
      socket = s;
      at = { read: s.bytesRead, written: s.bytesWritten };
    });
    req.once('response', (res: http.IncomingMessage) => (status = res.statusCode ?? null));
    let reported = false;
    return (error) => {
      if (reported) return;
      reported = true;
      this.onRequest!({
        method,
        path: pathname + search,
        status,
        sent: socket ? socket.bytesWritten - at.written : 0,
        received: socket ? socket.bytesRead - at.read : 0,
        ms: Math.round(performance.now() - started),
        ...(error !== undefined ? { error } : {}),
      });
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
