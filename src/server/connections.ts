import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CrsyncError } from '../errors.js';
import type { ServerLimits } from './limits.js';

/** Seconds a client over the connection limit is told to wait (`Retry-After`). */
export const BUSY_RETRY_AFTER_S = 1;

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

/**
 * Sets the hub's connection limits and timeouts on a Node server: headers must arrive within
 * the headers timeout (a whole push may take as long as it needs: its body is watched by
 * `guardedBody`), malformed or slow requests get a JSON error, and connections over the limit
 * are marked so their requests are answered `503 busy`. Returns the test for that mark.
 */
export function limitConnections(server: Server, limits: ServerLimits, tls: boolean): (socket: Socket) => boolean {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = 0;
  // Far beyond the limit, refuse at once rather than hold file descriptors for a 503.
  server.maxConnections = limits.maxConnections * 2;
  const over = new WeakSet<Socket>();
  let open = 0;
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
    if (open > limits.maxConnections) over.add(socket);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inResponse = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || inResponse) {
      socket.destroy();
      return;
    }
    const e = clientErrorAnswer(err);
    const body = JSON.stringify({ error: e.toJSON() });
    socket.end(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return (socket) => over.has(socket);
}
