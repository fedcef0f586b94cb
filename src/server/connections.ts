import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CrsyncError } from '../errors.js';
import type { ServerLimits } from './limits.js';

/** Seconds a client over the connection limit is told to wait (`Retry-After`). */
export const BUSY_RETRY_AFTER_S = 1;

/** Largest request line and headers (Node's maxHeaderSize); more is answered 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** The error a request on a connection over the limit gets (503, with Retry-After). */
export function busyError(max: number): CrsyncError {
  return new CrsyncError('busy', `the hub has its maximum of ${max} connections open`, {
    hint: 'try again shortly (crsync retries by itself); the operator can raise crsync serve --max-connections',
  });
}

/** The answer to a request Node could not parse or that came too slowly, as JSON like every other. */
function clientErrorAnswer(err: NodeJS.ErrnoException): CrsyncError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new CrsyncError('request_timeout', 'the request line and headers did not arrive in time', { hint: 'the hub cuts off clients that send too slowly (crsync serve --headers-timeout)' });
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return new CrsyncError('headers_too_large', 'the request headers are too large', { hint: 'send at most 16 KiB of headers' });
  return new CrsyncError('bad_request', `malformed HTTP request (${err.code ?? err.message})`);
}

/** The address a connection counts against (an IPv4 peer seen through an IPv6 socket is still IPv4). */
function clientOf(socket: Socket): string {
  const a = socket.remoteAddress ?? '?';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function answerAndClose(socket: Duplex, e: CrsyncError): void {
  const status = e.status;
  const body = JSON.stringify({ error: e.toJSON() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  // A peer that does not read the answer must not keep the descriptor either.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Sets the hub's connection limits and timeouts on a Node server: a connection must deliver its
 * first request's headers within the headers timeout whether or not it sent a byte (Node's own
 * headersTimeout only starts at the first byte), later ones likewise (Node), and an idle
 * keep-alive connection is closed after a few seconds; a whole push may take as long as it needs
 * (its body is watched by `guardedBody`). Malformed or slow requests get a JSON error. One client
 * address may hold at most `maxClientConnections` (more are closed at once, so one client cannot
 * take every slot); connections over the total limit are marked so their requests are answered
 * `503 busy`. Returns the test for that mark.
 */
export function limitConnections(server: Server, limits: ServerLimits, tls: boolean): (socket: Socket) => boolean {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = Math.min(5000, limits.headersTimeoutMs);
  // Far beyond the limit, refuse at once rather than hold file descriptors for a 503.
  server.maxConnections = limits.maxConnections * 2;
  const over = new WeakSet<Socket>();
  const served = new WeakSet<Duplex>();
  const perClient = new Map<string, number>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    const client = clientOf(socket);
    const mine = (perClient.get(client) ?? 0) + 1;
    if (mine > limits.maxClientConnections) {
      socket.destroy();
      return;
    }
    perClient.set(client, mine);
    socket.once('close', () => {
      const n = (perClient.get(client) ?? 1) - 1;
      if (n <= 0) perClient.delete(client);
      else perClient.set(client, n);
    });
    if (!tls) watchFirstRequest(socket);
  });
  // Over TLS the handshake is bounded by the server's handshakeTimeout; the wait for the first
  // request starts once it is done.
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    if (socket.destroyed) return;
    open++;
    socket.once('close', () => open--);
    if (open > limits.maxConnections) over.add(socket);
    if (tls) watchFirstRequest(socket);
  });
  server.on('request', (req: { socket: Duplex }) => served.add(req.socket));
  function watchFirstRequest(socket: Socket): void {
    const timer = setTimeout(() => {
      if (served.has(socket) || socket.destroyed) return;
      answerAndClose(socket, new CrsyncError('request_timeout', 'no request arrived in time', { hint: 'the hub closes connections that send no request (crsync serve --headers-timeout)' }));
    }, limits.headersTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inResponse = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || inResponse) {
      socket.destroy();
      return;
    }
    const e = clientErrorAnswer(err);
    answerAndClose(socket, e);
  });
  return (socket) => over.has(socket);
}
