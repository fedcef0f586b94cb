import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/** A pass-through that hashes (sha256) and counts what flows: how both sides check a snapshot. */
export interface HashTap {
  readonly stream: Transform;
  /** Bytes passed so far. */
  readonly bytes: number;
  /** The hex sha256 of everything passed (once it has all passed). */
  digest(): string;
}

/** A new HashTap; `limit` makes more bytes than that fail the stream with `tooMany()`. */
export function hashTap(limit?: { bytes: number; tooMany: () => Error }): HashTap {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (limit && bytes > limit.bytes) return cb(limit.tooMany());
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  return {
    stream,
    get bytes() {
      return bytes;
    },
    digest: () => hash.digest('hex'),
  };
}
