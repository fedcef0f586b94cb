import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { hashTap } from './hash-tap.js';

/**
 * gzip level of a snapshot, served or uploaded. Level 4 costs about 35% of level 6's CPU on a replica's file
 * (the cities: 0.46 s against 1.27 s) for 7% more bytes, still under `gzip -6` of the hub's own
 * file (0.91 of it), which is the wire target (docs/benchmarks.md, "Snapshot clone").
 */
export const SNAPSHOT_GZIP_LEVEL = 4;

/** Bytes per gzip member (of the raw file): a snapshot is gzipped in members of this size, up to PARALLEL at once. */
const MEMBER_BYTES = 16 * 2 ** 20;

/** Members gzipped at once (zlib runs them on libuv's threadpool): a cold clone, or a first push, waits for this. */
const PARALLEL = 2;

/**
 * Stream buffer sizes for a snapshot's bytes. Node's defaults (64 KiB reads, 16 KiB zlib output)
 * cost more in stream overhead than the work itself on a 50 MiB file: gunzip + sha256 + write of
 * the cities' snapshot takes 0.40 s of CPU with them and 0.16 s with these; gzip 0.73 s and 0.53 s.
 * A few MiB per transfer, whatever the file's size.
 */
export const SNAPSHOT_IO = { highWaterMark: 2 ** 20 };
export const SNAPSHOT_ZLIB = { chunkSize: 2 ** 18 };

/** A packed snapshot: the gzip file, its size and sha256, and the size and sha256 of the raw file. */
export interface Packed {
  gzBytes: number;
  gzSha256: string;
  rawBytes: number;
  rawSha256: string;
}

/**
 * Gzips `raw` into `gz` as a series of gzip members (RFC 1952 allows several, and every gunzip
 * reads them as one stream), PARALLEL at a time, so a cold clone or a first push does not wait
 * for one core to compress the whole file. Members are written to side files and appended in order; the raw
 * file is hashed in one read meanwhile. Memory stays a few stream buffers, whatever the size.
 */
export async function packSnapshot(raw: string, gz: string, memberBytes = MEMBER_BYTES): Promise<Packed> {
  const size = statSync(raw).size;
  const members: { start: number; end: number; file: string }[] = [];
  for (let start = 0, i = 0; start < size || i === 0; start += memberBytes, i++) {
    members.push({ start, end: Math.min(size, start + memberBytes) - 1, file: `${gz}.${i}` });
  }
  const rawTap = hashTap();
  const gzTap = hashTap();
  try {
    const hashing = pipeline(createReadStream(raw, SNAPSHOT_IO), rawTap.stream, sink());
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < members.length) {
        const m = members[next++]!;
        // An empty file still makes one (empty) member: the answer is always valid gzip.
        const from = m.end >= m.start ? createReadStream(raw, { ...SNAPSHOT_IO, start: m.start, end: m.end }) : [Buffer.alloc(0)];
        await pipeline(from, createGzip({ ...SNAPSHOT_ZLIB, level: SNAPSHOT_GZIP_LEVEL }), createWriteStream(m.file, SNAPSHOT_IO));
      }
    };
    await Promise.all([hashing, ...Array.from({ length: PARALLEL }, lane)]);
    await pipeline(concat(members.map((m) => m.file)), gzTap.stream, createWriteStream(gz, SNAPSHOT_IO));
    return { gzBytes: gzTap.bytes, gzSha256: gzTap.digest(), rawBytes: rawTap.bytes, rawSha256: rawTap.digest() };
  } finally {
    for (const m of members) rmSync(m.file, { force: true });
  }
}

/** The bytes of `files`, one after the other, each removed once read. */
async function* concat(files: string[]): AsyncGenerator<Buffer> {
  for (const f of files) {
    for await (const chunk of createReadStream(f, SNAPSHOT_IO)) yield chunk as Buffer;
    rmSync(f, { force: true });
  }
}

/** A stream that drops what it is given (the raw file's hash is all that is wanted of its read). */
function sink(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}
