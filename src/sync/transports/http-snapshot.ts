import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CrsyncError } from '../../errors.js';
import { PROTOCOL_VERSION, SNAPSHOT_HEADERS, SNAPSHOT_MEDIA_TYPE } from '../protocol/types.js';
import { hashTap } from '../protocol/hash-tap.js';
import { packSnapshot, SNAPSHOT_IO, SNAPSHOT_ZLIB } from '../protocol/snapshot-pack.js';
import type { HttpResponse } from './http-agent.js';
import type { SnapshotReceipt, SnapshotUploadMeta, SnapshotUploadReceipt } from './transport.js';

/** Sends GET …/snapshot with extra headers; throws the hub's error for an error answer. */
export type SnapshotRequester = (headers: Record<string, string>, signal?: AbortSignal) => Promise<HttpResponse>;

/** What a download being resumed is of: the URL and the hub's ETag of the gzipped bytes. */
interface DownloadState {
  url: string;
  etag: string;
}

/** Files of a download into `out`: the gzipped bytes as they come, and what they are of. */
function filesOf(out: string): { gz: string; state: string } {
  return { gz: `${out}.gz`, state: `${out}.gz.json` };
}

/**
 * SQLite's files beside `out`: a client killed while it adopted an earlier copy leaves a hot
 * journal, which SQLite would roll back into the next copy when it opens (after its checksum was
 * checked), reverting pages of another state into it.
 */
function sidecars(out: string): string[] {
  return ['-journal', '-wal', '-shm'].map((s) => out + s);
}

/** Removes every file a snapshot download into `out` may have left. */
export function removeDownload(out: string): void {
  const f = filesOf(out);
  for (const p of [out, f.gz, f.state, ...sidecars(out)]) rmSync(p, { force: true });
}

function readState(path: string): DownloadState | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as DownloadState;
    return typeof s.url === 'string' && typeof s.etag === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

function header(res: HttpResponse, name: string): string {
  const v = res.headers[name];
  if (typeof v !== 'string' || v === '') throw new CrsyncError('bad_response', `the hub's snapshot answer lacks ${name}`, { hint: 'both sides must run compatible crsync versions; or clone with --no-snapshot' });
  return v;
}

/**
 * Downloads a hub's snapshot into `out` (an uncompressed SQLite file), resuming a download that
 * was cut (Range from the bytes already in `<out>.gz`, If-Range its ETag: a hub whose dataset
 * moved on sends the new snapshot whole). The gzipped bytes are kept until the file checks out
 * against the announced size and sha256; a file that does not is removed with all the rest.
 * Returns null when the hub has no snapshot endpoint (an older hub).
 */
export async function downloadSnapshot(url: string, out: string, request: SnapshotRequester, onBytes: (n: number) => void, signal?: AbortSignal): Promise<SnapshotReceipt | null> {
  const f = filesOf(out);
  const prev = readState(f.state);
  const have = prev?.url === url && existsSync(f.gz) ? statSync(f.gz).size : 0;
  let res: HttpResponse;
  try {
    res = await request(have > 0 && prev ? { range: `bytes=${have}-`, 'if-range': prev.etag } : {}, signal);
  } catch (err) {
    if (err instanceof CrsyncError && (err.code === 'not_found' || err.code === 'method_not_allowed')) return null;
    if (err instanceof CrsyncError && err.code === 'range_not_satisfiable') removeDownload(out);
    throw err;
  }
  const resumed = res.statusCode === 206;
  const start = resumed ? have : 0;
  const length = Number(header(res, 'content-length'));
  const etag = header(res, 'etag');
  if (header(res, SNAPSHOT_HEADERS.protocol) !== String(PROTOCOL_VERSION)) {
    res.body.destroy();
    throw new CrsyncError('bad_response', `the hub's snapshot is of protocol v${String(res.headers[SNAPSHOT_HEADERS.protocol])}, not v${PROTOCOL_VERSION}`, { hint: 'run compatible crsync versions, or clone with --no-snapshot' });
  }
  const receipt = {
    site: Buffer.from(header(res, SNAPSHOT_HEADERS.site), 'hex'),
    version: BigInt(header(res, SNAPSHOT_HEADERS.version)),
    size: Number(header(res, SNAPSHOT_HEADERS.size)),
    sha256: header(res, SNAPSHOT_HEADERS.sha256),
  };
  writeFileSync(f.state, JSON.stringify({ url, etag } satisfies DownloadState));
  const got = await receive(res.body, f.gz, resumed, onBytes);
  if (got.fileError !== undefined) {
    const err = got.fileError as NodeJS.ErrnoException;
    if (err.code === 'ENOSPC') {
      removeDownload(out);
      throw new CrsyncError('disk_full', `the disk is full: no space left for the snapshot at ${f.gz}`, { hint: 'free some disk space, or clone with --no-snapshot', cause: err });
    }
    throw new CrsyncError('cannot_write', `cannot write the snapshot to ${f.gz}: ${err.message}`, { hint: 'check that the folder is writable, then run the clone again', cause: err });
  }
  if (got.cut !== undefined) {
    if (signal?.aborted) throw signal.reason;
    throw new CrsyncError('truncated_stream', `the snapshot download was cut after ${start + got.bytes} bytes: ${(got.cut as Error).message}`, { hint: 'run the clone again; it resumes the download', cause: got.cut });
  }
  if (got.bytes < length) throw new CrsyncError('truncated_stream', `the snapshot download ended after ${start + got.bytes} of ${start + length} bytes`, { hint: 'run the clone again; it resumes the download' });
  await unpack(f.gz, out, receipt);
  rmSync(f.gz, { force: true });
  rmSync(f.state, { force: true });
  return { site: receipt.site, version: receipt.version, bytes: receipt.size };
}

/**
 * Appends the answer's body to `gz` (or writes it anew). Read by hand rather than piped: a cut
 * must not discard the bytes that arrived but were still queued for the file (pipeline destroys
 * the file stream, queue and all), so the file holds every byte received and a rerun asks only
 * for the rest. A cut or a refused write is returned, not thrown, once the file is closed.
 */
async function receive(body: AsyncIterable<Buffer>, gz: string, append: boolean, onBytes: (n: number) => void): Promise<{ bytes: number; cut?: unknown; fileError?: unknown }> {
  const file = createWriteStream(gz, { ...SNAPSHOT_IO, flags: append ? 'a' : 'w' });
  let fileError: unknown;
  file.on('error', (err) => (fileError ??= err));
  let bytes = 0;
  let cut: unknown;
  try {
    for await (const chunk of body) {
      if (fileError !== undefined) break;
      bytes += chunk.length;
      onBytes(chunk.length);
      if (!file.write(chunk) && fileError === undefined) await once(file, 'drain');
    }
  } catch (err) {
    cut = err;
  }
  if (fileError === undefined) await new Promise<void>((resolve) => file.end(() => resolve()));
  else file.destroy();
  return { bytes, cut, fileError };
}

/** Gunzips the download into `out` and checks it; anything wrong removes every file of it. */
async function unpack(gz: string, out: string, expected: { size: number; sha256: string }): Promise<void> {
  const tap = hashTap();
  let why: string | undefined;
  for (const p of sidecars(out)) rmSync(p, { force: true });
  try {
    await pipeline(createReadStream(gz, SNAPSHOT_IO), createGunzip(SNAPSHOT_ZLIB), tap.stream, createWriteStream(out, SNAPSHOT_IO));
    const sum = tap.digest();
    if (tap.bytes !== expected.size) why = `it is ${tap.bytes} bytes, not the announced ${expected.size}`;
    else if (sum !== expected.sha256) why = `its sha256 is ${sum}, not the announced ${expected.sha256}`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'Z_DATA_ERROR' && code !== 'Z_BUF_ERROR') {
      // A half-written file must not be left to look like a replica (a full disk, say); the whole
      // download goes too, as its complete .gz could not be resumed (a Range past its end).
      removeDownload(out);
      throw err;
    }
    why = `it is not valid gzip (${(err as Error).message})`;
  }
  if (why !== undefined) {
    removeDownload(out);
    throw new CrsyncError('snapshot_corrupt', `the downloaded snapshot is corrupt: ${why}`, { hint: 'run the clone again (it downloads it anew), or clone with --no-snapshot' });
  }
}

/** A gzipped upload: the file and the size and sha256 of what it unpacks to. */
export interface PackedUpload {
  gz: string;
  size: number;
  sha256: string;
}

/** Gzips the sealed copy `copy` to `<copy>.gz` (and removes it), hashing it on the way (what the hub checks). */
export async function packUpload(copy: string): Promise<PackedUpload> {
  const gz = `${copy}.gz`;
  const packed = await packSnapshot(copy, gz);
  // The gzip is what travels: the copy's disk space goes now.
  rmSync(copy, { force: true });
  return { gz, size: packed.rawBytes, sha256: packed.rawSha256 };
}

/** The body and headers of a snapshot upload (POST …/snapshot) of a packed copy. */
export function snapshotUploadBody(packed: PackedUpload, meta: SnapshotUploadMeta, onBytes: (n: number) => void): { body: Transform; headers: Record<string, string> } {
  const body = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
  createReadStream(packed.gz, SNAPSHOT_IO).on('error', (e) => body.destroy(e)).pipe(body);
  return {
    body,
    headers: {
      'content-type': SNAPSHOT_MEDIA_TYPE,
      'content-length': String(statSync(packed.gz).size),
      [SNAPSHOT_HEADERS.protocol]: String(PROTOCOL_VERSION),
      [SNAPSHOT_HEADERS.site]: meta.site.toString('hex'),
      [SNAPSHOT_HEADERS.version]: meta.version.toString(),
      [SNAPSHOT_HEADERS.size]: String(packed.size),
      [SNAPSHOT_HEADERS.sha256]: packed.sha256,
    },
  };
}

/** The hub's answer to an upload, checked. */
export function uploadReceipt(body: unknown, origin: string): SnapshotUploadReceipt {
  const b = body as { siteId?: unknown; dbVersion?: unknown; changes?: unknown };
  if (typeof b?.siteId !== 'string' || !/^[0-9a-f]{32}$/.test(b.siteId) || typeof b.dbVersion !== 'string' || !/^\d+$/.test(b.dbVersion) || typeof b.changes !== 'number') {
    throw new CrsyncError('bad_response', `${origin} did not answer the snapshot upload like a crsync hub`, { hint: 'push with --no-snapshot, and check that both sides run compatible crsync versions' });
  }
  return { siteId: Buffer.from(b.siteId, 'hex'), dbVersion: BigInt(b.dbVersion), changes: b.changes };
}
