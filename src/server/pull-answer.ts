import { createGzip } from 'node:zlib';
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { FRAMES_MEDIA_TYPE } from '../sync/protocol/types.js';

/**
 * Answers up to this size are sent whole, uncompressed, with a Content-Length: a live pull
 * woken by one commit carries a few hundred bytes, and a gzip stream per answer (its zlib state
 * set up and torn down, chunked encoding) cost the hub and every client more than the bytes.
 */
const SMALL_ANSWER_BYTES = 16 * 1024;

/**
 * The body of a pull's answer: frames are held until they pass SMALL_ANSWER_BYTES, and only then
 * does the answer start as a stream (gzip when the client takes it). The status line goes out
 * with the first byte either way, so an answer is 200 from then on (later failures are "x" frames).
 */
export class PullAnswer {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private out: Writable | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly gzip: boolean,
  ) {}

  /** Writes one frame; false when the stream wants a 'drain' first (see `stream`). */
  write(frame: Buffer): boolean {
    if (this.out) return this.out.write(frame);
    this.held.push(frame);
    this.heldBytes += frame.length;
    if (this.heldBytes < SMALL_ANSWER_BYTES) return true;
    return this.start().write(Buffer.concat(this.held.splice(0)));
  }

  /** Writes the last frame and ends the answer. */
  end(frame: Buffer): void {
    if (this.out) {
      this.out.end(frame);
      return;
    }
    this.held.push(frame);
    const body = Buffer.concat(this.held.splice(0));
    this.res.writeHead(200, { 'content-type': FRAMES_MEDIA_TYPE, 'content-length': String(body.length) });
    this.res.end(body);
  }

  /** What is written to once the answer streams (the gzip stream or the response), or undefined while held. */
  get stream(): Writable | undefined {
    return this.out;
  }

  /** Ends the answer at once (the client stopped reading or went away). */
  destroy(): void {
    if (this.out && this.out !== this.res) this.out.destroy();
    this.res.destroy();
  }

  private start(): Writable {
    this.res.writeHead(200, { 'content-type': FRAMES_MEDIA_TYPE, ...(this.gzip ? { 'content-encoding': 'gzip' } : {}) });
    if (this.gzip) {
      const z = createGzip({ level: 1 });
      z.pipe(this.res);
      this.out = z;
    } else this.out = this.res;
    return this.out;
  }
}
