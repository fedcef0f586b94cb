import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { CrsyncError } from '../../errors.js';
import type { SqlValue } from '../../values.js';
import { PROTOCOL_FRAME_LIMITS, type FrameLimits } from './limits.js';
import { resolutionFromJson, resolutionToJson } from './resolution-json.js';
import { MAX_CONFLICTS_PER_FRAME, checkFrameShape } from './shape.js';
import { MAX_FRAME_BYTES, MAX_PAGE_SIZE, type Change, type Cursor, type Page, type StreamEnd, type StreamHeader, type WireConflict, type WireResolution } from './types.js';

/*
 * Wire encoding (docs/protocol.md): a stream is a sequence of frames, each a 4-byte big-endian
 * length and a msgpack array whose first element names the frame:
 *   ["h", site, schemaHash, seen|nil]                      header
 *   ["p", tables[], sites[], rows[], cursorVersion, cursorSeq]  page
 *   ["e", cursorVersion, cursorSeq, changeCount]           end of a complete stream
 *   ["c", conflicts[], lastId]                             conflicts to pass on
 *   ["r", resolutions[], lastId]                           resolutions to pass on
 *   ["x", code, message]                                   the sender failed mid-stream
 * A row is [tableIndex, pk, cid, val, colVersion, dbVersion, siteIndex, cl, seq]. Values keep
 * their SQLite type: NULL nil, INTEGER a msgpack int, REAL ext type 1 (8-byte big-endian
 * IEEE 754 double), TEXT str, BLOB bin.
 */

/** msgpack extension type that carries an SQLite REAL. */
export const REAL_EXT = 1;

class Real {
  constructor(readonly value: number) {}
}

const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: REAL_EXT,
  encode: (input: unknown) => {
    if (!(input instanceof Real)) return null;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, input.value, false);
    return b;
  },
  decode: (data: Uint8Array) => {
    if (data.byteLength !== 8) throw new Error('REAL extension must hold 8 bytes');
    return new Real(new DataView(data.buffer, data.byteOffset, 8).getFloat64(0, false));
  },
});

const encoder = new Encoder({ extensionCodec, useBigInt64: true });

/**
 * Integers go out in the smallest msgpack int format: a bigint would always take 9 bytes. Only
 * values that fit 32 bits become numbers (the encoder writes larger numbers as floats).
 */
function compact(v: bigint): number | bigint {
  return v >= -0x80000000n && v <= 0xffffffffn ? Number(v) : v;
}
// Belt and braces: checkFrameShape has bounded every length before the decoder runs.
const decoder = new Decoder({
  extensionCodec, useBigInt64: true,
  maxArrayLength: MAX_PAGE_SIZE, maxMapLength: 16, maxExtLength: 8, maxStrLength: MAX_FRAME_BYTES, maxBinLength: MAX_FRAME_BYTES,
});

/** A frame decoded from the wire. */
export type Frame =
  | { type: 'header'; header: StreamHeader }
  | { type: 'page'; page: Page }
  | { type: 'end'; end: StreamEnd }
  | { type: 'error'; code: string; message: string }
  | { type: 'conflicts'; conflicts: WireConflict[]; lastId: bigint }
  | { type: 'resolutions'; resolutions: WireResolution[]; lastId: bigint };

function frame(payload: unknown): Buffer {
  const body = encoder.encode(payload);
  const out = Buffer.allocUnsafe(4 + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, 4);
  return out;
}

export function encodeHeader(h: StreamHeader): Buffer {
  return frame(['h', h.site, h.schemaHash, h.seen === undefined ? null : compact(h.seen)]);
}

export function encodeEnd(e: StreamEnd): Buffer {
  const base = ['e', compact(e.cursor.version), compact(e.cursor.seq), e.changes];
  // Readers before these fields ignore what follows the change count.
  return frame(e.hubSite !== undefined && e.schemaHash !== undefined ? [...base, e.hubSite, e.schemaHash] : base);
}

/** Conflicts for the other side to record; `lastId` is the sender's newest conflict id (pull). */
export function encodeConflicts(conflicts: WireConflict[], lastId: bigint): Buffer {
  return frame(['c', conflicts.map(conflictToJson), lastId]);
}

/** Resolutions for the other side to apply; `lastId` is the sender's newest resolution id (pull). */
export function encodeResolutions(resolutions: WireResolution[], lastId: bigint): Buffer {
  return frame(['r', resolutions.map(resolutionToJson), lastId]);
}

export function encodeError(code: string, message: string): Buffer {
  return frame(['x', code, message]);
}

/** Encodes a page with table names and site ids as per-page dictionaries. */
export function encodePage(page: Page): Buffer {
  const tables: string[] = [];
  const tableIdx = new Map<string, number>();
  const sites: Uint8Array[] = [];
  const siteIdx = new Map<string, number>();
  const rows = page.changes.map((c) => {
    let t = tableIdx.get(c[0]);
    if (t === undefined) {
      t = tables.push(c[0]) - 1;
      tableIdx.set(c[0], t);
    }
    const key = Buffer.from(c[6]).toString('latin1');
    let s = siteIdx.get(key);
    if (s === undefined) {
      s = sites.push(c[6]) - 1;
      siteIdx.set(key, s);
    }
    const v = c[3];
    const val = typeof v === 'number' ? new Real(v) : typeof v === 'bigint' ? compact(v) : v;
    return [t, c[1], c[2], val, compact(c[4]), compact(c[5]), s, compact(c[7]), compact(c[8])];
  });
  return frame(['p', tables, sites, rows, compact(page.cursor.version), compact(page.cursor.seq)]);
}

function bad(message: string): CrsyncError {
  return new CrsyncError('bad_stream', `malformed change stream: ${message}`, {
    hint: 'the peer sent data crsync cannot read; check that both sides run compatible crsync versions',
  });
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An integer in SQLite's signed 64-bit range (a uint64 above it cannot be stored). */
function int(v: unknown, what: string): bigint {
  if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw bad(`${what} is not a 64-bit integer`);
}

function bin(v: unknown, what: string): Uint8Array {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw bad(`${what} is not binary`);
}

function value(v: unknown): SqlValue {
  if (v === null || typeof v === 'string') return v;
  if (v instanceof Real) return v.value;
  // A msgpack float is not a value type: an integral one reads as INTEGER, any other is refused.
  if (typeof v === 'number' || typeof v === 'bigint') return int(v, 'an INTEGER value');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw bad('a value has an unsupported type');
}

/** Bytes of a TEXT or BLOB (0 for other types); counts UTF-8 only when the string could be too long. */
function sizeOf(v: unknown, max: number): number {
  if (v instanceof Uint8Array) return v.byteLength;
  if (typeof v === 'string') return v.length * 3 > max ? Buffer.byteLength(v) : v.length;
  return 0;
}

function valueTooLarge(table: string, cid: string, what: string, size: number, max: number): CrsyncError {
  return new CrsyncError('value_too_large', `${what} of ${table}.${cid} has ${size} bytes, over the limit of ${max}`, {
    hint: 'the receiver refuses values this large (crsync serve --max-value)',
  });
}

function decodePage(f: unknown[], limits: FrameLimits): Page {
  const [, tables, sites, rows, cv, cs] = f;
  if (!Array.isArray(tables) || !Array.isArray(sites) || !Array.isArray(rows)) throw bad('page is not [p, tables, sites, rows, ...]');
  const max = limits.maxValueBytes;
  const changes: Change[] = rows.map((r: unknown) => {
    if (!Array.isArray(r) || r.length !== 9) throw bad('a change row does not have 9 fields');
    const table = typeof r[0] === 'number' ? tables[r[0]] : undefined;
    const site = typeof r[6] === 'number' ? sites[r[6]] : undefined;
    if (typeof table !== 'string') throw bad('a change names an unknown table index');
    if (typeof r[2] !== 'string') throw bad('a change has a non-text column id');
    const pk = bin(r[1], 'pk');
    if (pk.byteLength > max) throw valueTooLarge(table, r[2], 'the primary key', pk.byteLength, max);
    const size = sizeOf(r[3], max);
    if (size > max) throw valueTooLarge(table, r[2], 'a value', size, max);
    return [table, pk, r[2], value(r[3]), int(r[4], 'col_version'), int(r[5], 'db_version'), bin(site, 'site id'), int(r[7], 'cl'), int(r[8], 'seq')];
  });
  return { changes, cursor: { version: int(cv, 'cursor version'), seq: int(cs, 'cursor seq') } };
}

/** Decodes one frame payload (without its length prefix). */
export function decodeFrame(payload: Uint8Array, limits: FrameLimits = PROTOCOL_FRAME_LIMITS): Frame {
  // Refuses what the decoder would build too much of (deep nesting, lying lengths) first.
  checkFrameShape(payload, limits);
  let f: unknown;
  try {
    f = decoder.decode(payload);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (!Array.isArray(f) || typeof f[0] !== 'string') throw bad('frame is not a tagged array');
  switch (f[0]) {
    case 'h':
      if (typeof f[2] !== 'string') throw bad('header has no schema hash');
      return { type: 'header', header: { site: bin(f[1], 'site'), schemaHash: f[2], seen: f[3] == null ? undefined : int(f[3], 'seen') } };
    case 'p':
      return { type: 'page', page: decodePage(f, limits) };
    case 'e': {
      const end: StreamEnd = { cursor: { version: int(f[1], 'cursor'), seq: int(f[2], 'cursor') }, changes: Number(int(f[3], 'change count')) };
      if (typeof f[4] === 'string' && typeof f[5] === 'string') Object.assign(end, { hubSite: f[4], schemaHash: f[5] });
      return { type: 'end', end };
    }
    case 'c': {
      if (!Array.isArray(f[1]) || f[1].length > MAX_CONFLICTS_PER_FRAME) throw bad('conflicts frame is not [c, conflicts[], lastId]');
      return { type: 'conflicts', conflicts: f[1].map(validConflict), lastId: int(f[2], 'lastId') };
    }
    case 'r': {
      if (!Array.isArray(f[1]) || f[1].length > MAX_CONFLICTS_PER_FRAME) throw bad('resolutions frame is not [r, resolutions[], lastId]');
      return { type: 'resolutions', resolutions: f[1].map(validResolution), lastId: int(f[2], 'lastId') };
    }
    case 'x':
      return { type: 'error', code: String(f[1]), message: String(f[2]) };
    default:
      throw bad(`unknown frame type ${String(f[0])}`);
  }
}

/**
 * Reads frames from a byte stream. Ends cleanly only at a frame boundary; a stream cut inside
 * a frame throws `truncated_stream` (everything before it was whole and may be kept).
 */
export async function* readFrames(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, limits: FrameLimits = PROTOCOL_FRAME_LIMITS): AsyncGenerator<Frame> {
  const maxFrame = limits.maxFrameBytes;
  // Chunks are joined only once a whole frame has arrived, so large frames cost one copy.
  let chunks: Buffer[] = [];
  let total = 0;
  let need = 4;
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    chunks = rest.length > 0 ? [rest] : [];
    total = rest.length;
    return out;
  };
  // `need` bytes complete either a length prefix (inFrame false) or a frame payload.
  let inFrame = false;
  for await (const chunk of source) {
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    total += chunk.byteLength;
    while (total >= need) {
      if (!inFrame) {
        const len = take(4).readUInt32BE(0);
        if (len > maxFrame) {
          throw new CrsyncError('frame_too_large', `a frame of ${len} bytes exceeds the limit of ${maxFrame}`, {
            hint: 'lower the page size of the sender',
          });
        }
        if (len === 0) throw bad('empty frame');
        need = len;
        inFrame = true;
      } else {
        const payload = take(need);
        need = 4;
        inFrame = false;
        yield decodeFrame(payload, limits);
      }
    }
  }
  if (total > 0 || inFrame) {
    throw new CrsyncError('truncated_stream', 'change stream cut inside a frame', {
      hint: 'the connection dropped; run the command again to resume from the last committed page',
    });
  }
}

/** Cursor of a frame list as plain strings (JSON responses). */
export function cursorToJson(c: Cursor): { version: string; seq: string } {
  return { version: c.version.toString(), seq: c.seq.toString() };
}

/** Parses a cursor from JSON strings. */
export function cursorFromJson(c: { version: string; seq: string } | undefined): Cursor | undefined {
  if (!c) return undefined;
  return { version: BigInt(c.version), seq: BigInt(c.seq) };
}

/** A conflict in JSON form (push responses): binary as hex, 64-bit integers as strings. */
export interface WireConflictJson {
  table: string;
  pk: string;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  ours: string;
  theirs: string;
  winner: 'ours' | 'theirs';
  oursSite: string | null;
  theirsSite: string | null;
  oursColVersion: string | null;
  theirsColVersion: string | null;
}

const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString('hex') : null);
const unhex = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'hex'));
const str = (v: bigint | null): string | null => (v === null ? null : v.toString());
const big = (v: string | null): bigint | null => (v === null ? null : BigInt(v));

export function conflictToJson(c: WireConflict): WireConflictJson {
  return { ...c, pk: hex(c.pk)!, oursSite: hex(c.oursSite), theirsSite: hex(c.theirsSite), oursColVersion: str(c.oursColVersion), theirsColVersion: str(c.theirsColVersion) };
}

const HEX = /^([0-9a-f]{2})*$/;
const INT = /^-?\d{1,20}$/;

function validResolution(v: unknown): WireResolution {
  const r = resolutionFromJson(v);
  if (!r) throw bad('a resolution record is malformed');
  return r;
}

/** Checks a conflict from the wire field by field before it is recorded. */
function validConflict(v: unknown): WireConflict {
  const c = v as WireConflictJson;
  const hexOrNull = (x: unknown, len?: number): boolean => x === null || (typeof x === 'string' && HEX.test(x) && (len === undefined || x.length === len));
  const intOrNull = (x: unknown): boolean => x === null || (typeof x === 'string' && INT.test(x));
  const ok =
    c !== null && typeof c === 'object' &&
    typeof c.table === 'string' && typeof c.pk === 'string' && HEX.test(c.pk) && c.pk.length > 0 &&
    (c.cid === null || typeof c.cid === 'string') &&
    (c.kind === 'update_update' || c.kind === 'delete_update') &&
    typeof c.ours === 'string' && typeof c.theirs === 'string' &&
    (c.winner === 'ours' || c.winner === 'theirs') &&
    hexOrNull(c.oursSite, 32) && hexOrNull(c.theirsSite, 32) &&
    intOrNull(c.oursColVersion) && intOrNull(c.theirsColVersion);
  if (!ok) throw bad('a conflict record is malformed');
  return conflictFromJson(c);
}

export function conflictFromJson(c: WireConflictJson): WireConflict {
  return { ...c, pk: unhex(c.pk)!, oursSite: unhex(c.oursSite), theirsSite: unhex(c.theirsSite), oursColVersion: big(c.oursColVersion), theirsColVersion: big(c.theirsColVersion) };
}

