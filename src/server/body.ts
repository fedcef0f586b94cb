import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CrsyncError } from '../errors.js';
import type { ServerLimits } from './limits.js';
import type { MemoryBudget } from './budget.js';
import { FRAMES_MEDIA_TYPE } from '../sync/protocol/types.js';

/** A push starts with a header frame: site, schema hash and `seen` take well under this. */
const MAX_HEADER_FRAME = 4096;

/** How a body is read: its size cap, and whether it is length-prefixed frames (a push) or one piece (JSON). */
export interface BodyRules extends Pick<ServerLimits, 'idleTimeoutMs' | 'minBytesPerSec'> {
  maxBytes: number;
  framed: boolean;
  /** The hub-wide budget each frame is reserved in, from its length prefix until the next frame. */
  budget?: MemoryBudget;
}

/**
 * A request body as a stream, decompressed when it says gzip. The request is piped, so after a
 * refusal it can be unpiped and drained while the answer goes out.
 */
export function bodyStream(req: IncomingMessage, encoding: 'gzip' | 'identity'): Readable {
  const body = encoding === 'gzip' ? createGunzip() : new PassThrough();
  req.on('error', (e) => body.destroy(e));
  req.pipe(body);
  return body;
}

/** How much of a refused body the hub still reads, and for how long, before it cuts the connection. */
const LINGER_BYTES = 4 * 2 ** 20;
const LINGER_MS = 2000;

/**
 * Reads and drops the rest of a refused request's body (it was answered already), so the
 * connection closes cleanly: closing a socket with unread data in it makes the kernel send a
 * reset, which can reach the client before it has read the answer, and the client would see a
 * network error instead of (say) 403 forbidden. A body that goes on past LINGER_BYTES or
 * LINGER_MS (or the idle timeout, if shorter) is cut off; one that ends keeps the connection.
 */
export function drainRefused(req: IncomingMessage, idleTimeoutMs: number): void {
  let seen = 0;
  const cut = (): void => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, Math.min(LINGER_MS, idleTimeoutMs));
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > LINGER_BYTES) cut();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

function stalled(message: string): CrsyncError {
  return new CrsyncError('request_timeout', message, {
    hint: 'the hub cuts off clients that send too slowly (crsync serve --idle-timeout, --min-rate)',
  });
}

/**
 * Passes a body on chunk by chunk under the hub's limits: at most `maxBytes` in all; no wait for
 * data longer than the idle timeout; and once a frame (or a JSON body) has begun, its bytes must
 * keep up with `minBytesPerSec` after one idle timeout of grace. Only time spent waiting for the
 * client counts, not time the hub spends applying what came, so a long fast push never times out.
 */
export async function* guardedBody(source: AsyncIterable<Uint8Array>, rules: BodyRules): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const { idleTimeoutMs: idle, minBytesPerSec: rate } = rules;
  let total = 0;
  let frames = 0;
  // The frame under way: bytes of its length prefix seen, payload bytes still due, and how many
  // bytes of it came in how much waiting.
  let prefix: number[] = [];
  let due = 0;
  let frameBytes = 0;
  let frameWait = 0;
  // Bytes of the budget this body holds: the frame under way (being read, decoded, applied).
  let held = 0;
  try {
    for (;;) {
      const inFrame = rules.framed ? prefix.length > 0 || due > 0 : total > 0;
      const slow = (): CrsyncError =>
        stalled(inFrame ? `the request body stalled: ${frameBytes} bytes of a frame in ${Math.round(frameWait)} ms (the hub wants ${rate} bytes/s)` : `no request data for ${idle} ms`);
      const allowance = inFrame ? Math.min(idle, idle + (frameBytes * 1000) / rate - frameWait) : idle;
      if (allowance <= 0) throw slow();
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.ceil(allowance))));
      const next = await Promise.race([it.next(), timeout]).finally(() => clearTimeout(timer));
      if (inFrame) frameWait += performance.now() - started;
      if (next === 'timeout') throw slow();
      if (next.done) return;
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      total += chunk.length;
      if (total > rules.maxBytes) {
        throw new CrsyncError('body_too_large', `request body over ${rules.maxBytes} bytes`, {
          hint: rules.framed ? 'the pages before the cut are committed: push again to send the rest, or raise crsync serve --max-body' : undefined,
        });
      }
      if (!rules.framed) {
        frameBytes += chunk.length;
        yield chunk;
        continue;
      }
      // Follow the length prefixes, so each frame's progress is measured from its own first byte.
      let pos = 0;
      while (pos < chunk.length) {
        if (due === 0) {
          prefix.push(chunk[pos++]!);
          frameBytes++;
          if (prefix.length === 4) {
            due = Buffer.from(prefix).readUInt32BE(0);
            prefix = [];
            if (frames === 0 && due > MAX_HEADER_FRAME) {
              throw new CrsyncError('bad_stream', `a push starts with a header frame; the first frame claims ${due} bytes`, {
                hint: `a push body is length-prefixed msgpack frames (${FRAMES_MEDIA_TYPE}), not JSON or text; see docs/protocol.md`,
              });
            }
            if (due === 0) frameBytes = frameWait = 0;
            // A claim beyond the budget is beyond --max-frame too: readFrames refuses it (413).
            if (rules.budget && due <= rules.budget.max) {
              rules.budget.release(held);
              held = 0;
              rules.budget.reserve(due, 'a frame of a push');
              held = due;
            }
          }
        } else {
          const n = Math.min(due, chunk.length - pos);
          due -= n;
          pos += n;
          frameBytes += n;
          if (due === 0) {
            frames++;
            frameBytes = frameWait = 0;
          }
        }
      }
      yield chunk;
    }
  } finally {
    rules.budget?.release(held);
  }
}
