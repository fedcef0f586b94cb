import { CrsyncError } from '../../errors.js';
import type { FrameLimits } from './limits.js';

/*
 * A structural check of a frame's msgpack bytes before the decoder builds anything. msgpack lets
 * one byte open an array, so 32 MB of 0x91 would make the decoder build 32 million nested arrays
 * (gigabytes, then a crash). Every crsync frame has a fixed shape (codec.ts):
 *   h, e, x: a flat array of scalars
 *   p: [tag, tables[], sites[], rows[], int, int], each row a flat array of 9 scalars
 *   c, r: [tag, maps[], int], each map (a conflict, a resolution) at most 16 pairs of scalars
 * (scalars after the known fields are allowed and ignored, as the decoder always did)
 * so nesting never goes deeper than 3, and the number of values a frame decodes into is bounded
 * by its page size (rows, dictionaries) or the conflict cap, not by its bytes. Every declared
 * length must also fit in the bytes left, so a 4-byte prefix cannot claim 4 billion elements.
 */

/** Most conflict records one frame (and one push) may carry. */
export const MAX_CONFLICTS_PER_FRAME = 1000;

/** Most pairs in one conflict record (it has 11 fields). */
const MAX_CONFLICT_FIELDS = 16;

function refuse(message: string): CrsyncError {
  return new CrsyncError('bad_stream', `malformed change stream: ${message}`, {
    hint: 'the peer sent data crsync cannot read; check that both sides run compatible crsync versions',
  });
}

type Kind = 'array' | 'map' | 'scalar';

/** Reads msgpack heads without building values. */
class Scanner {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.b.length) throw refuse('a value runs past the end of its frame');
  }

  private uint(n: 1 | 2 | 4): number {
    this.need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + this.b[this.pos + i]!;
    this.pos += n;
    return v;
  }

  private skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** Reads one head; skips a scalar's body whole; for a container returns its element count. */
  head(): { kind: Kind; count: number } {
    this.need(1);
    const t = this.b[this.pos++]!;
    let count = -1;
    let kind: Kind = 'scalar';
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return { kind, count: 0 };
    if (t >= 0x80 && t <= 0x8f) [kind, count] = ['map', t & 0x0f];
    else if (t >= 0x90 && t <= 0x9f) [kind, count] = ['array', t & 0x0f];
    else if (t >= 0xa0 && t <= 0xbf) this.skip(t & 0x1f);
    else if (t === 0xdc) [kind, count] = ['array', this.uint(2)];
    else if (t === 0xdd) [kind, count] = ['array', this.uint(4)];
    else if (t === 0xde) [kind, count] = ['map', this.uint(2)];
    else if (t === 0xdf) [kind, count] = ['map', this.uint(4)];
    else if (t === 0xc4 || t === 0xd9) this.skip(this.uint(1));
    else if (t === 0xc5 || t === 0xda) this.skip(this.uint(2));
    else if (t === 0xc6 || t === 0xdb) this.skip(this.uint(4));
    else if (t === 0xc7) this.skip(this.uint(1) + 1);
    else if (t === 0xc8) this.skip(this.uint(2) + 1);
    else if (t === 0xc9) this.skip(this.uint(4) + 1);
    else if (t === 0xca) this.skip(4);
    else if (t === 0xcb) this.skip(8);
    else if (t === 0xcc || t === 0xd0) this.skip(1);
    else if (t === 0xcd || t === 0xd1) this.skip(2);
    else if (t === 0xce || t === 0xd2) this.skip(4);
    else if (t === 0xcf || t === 0xd3) this.skip(8);
    else if (t >= 0xd4 && t <= 0xd8) this.skip(1 + 2 ** (t - 0xd4));
    else throw refuse(`byte 0x${t.toString(16)} is not msgpack`);
    // Each element takes at least one byte (a map entry two): a count that cannot fit is a lie.
    if (count > (this.b.length - this.pos) / (kind === 'map' ? 2 : 1)) throw refuse(`a ${kind} claims ${count} elements, more than its frame holds`);
    return { kind, count };
  }

  scalar(what: string): void {
    if (this.head().kind !== 'scalar') throw refuse(`${what} must be a plain value, not a nested array or map`);
  }

  array(what: string, max: number): number {
    const h = this.head();
    if (h.kind !== 'array') throw refuse(`${what} must be an array`);
    if (h.count > max) throw refuse(`${what} has ${h.count} elements, more than ${max}`);
    return h.count;
  }

  /** Scans an array of `n` scalars. */
  scalars(n: number, what: string): void {
    for (let i = 0; i < n; i++) this.scalar(what);
  }
}

/** A page bigger than the receiver takes (413), found before it is decoded. */
function pageTooLarge(n: number, max: number): CrsyncError {
  return new CrsyncError('page_too_large', `a page of ${n} changes exceeds the limit of ${max}`, { hint: 'lower the page size of the sender (--page-size)' });
}

/**
 * Throws `bad_stream` (or `page_too_large`) unless `payload` has the shape of a crsync frame.
 * Costs one pass over the heads, no allocation; unknown tags are left to the decoder to name.
 */
export function checkFrameShape(payload: Uint8Array, limits: FrameLimits): void {
  const s = new Scanner(payload);
  const n = s.array('a frame', 8);
  if (n === 0) throw refuse('frame is not a tagged array');
  s.scalar('a frame tag');
  if (payload[1] === 0xa1 && payload[2] === 0x70 /* "p" */) {
    if (n < 6) throw refuse('page is not [p, tables, sites, rows, version, seq]');
    const tables = s.array('a page table list', limits.maxPageSize);
    s.scalars(tables, 'a table name');
    const sites = s.array('a page site list', limits.maxPageSize);
    s.scalars(sites, 'a site id');
    const h = s.head();
    if (h.kind !== 'array') throw refuse('page rows must be an array');
    if (h.count > limits.maxPageSize) throw pageTooLarge(h.count, limits.maxPageSize);
    for (let i = 0; i < h.count; i++) s.scalars(s.array('a change row', 9), 'a change field');
    s.scalars(n - 4, 'a page cursor');
  } else if (payload[1] === 0xa1 && (payload[2] === 0x63 /* "c" */ || payload[2] === 0x72) /* "r" */) {
    const what = payload[2] === 0x63 ? 'conflict' : 'resolution';
    if (n < 3) throw refuse(`${what}s frame is not [tag, ${what}s, lastId]`);
    const h = s.head();
    if (h.kind !== 'array') throw refuse(`a ${what}s list must be an array`);
    if (h.count > MAX_CONFLICTS_PER_FRAME) {
      throw new CrsyncError('too_many_conflicts', `a frame of ${h.count} ${what}s exceeds the limit of ${MAX_CONFLICTS_PER_FRAME}`, { hint: 'crsync sends at most this many at once and the rest next time' });
    }
    const count = h.count;
    for (let i = 0; i < count; i++) {
      const m = s.head();
      if (m.kind !== 'map' || m.count > MAX_CONFLICT_FIELDS) throw refuse(`a ${what} record is not a small map`);
      s.scalars(m.count * 2, `a ${what} field`);
    }
    s.scalars(n - 2, 'lastId');
  } else {
    s.scalars(n - 1, 'a frame field');
  }
  if (s.pos !== payload.length) throw refuse('bytes left over after the frame');
}
