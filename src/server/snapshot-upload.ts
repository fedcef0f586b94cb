import { randomBytes } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CrsyncError } from '../errors.js';
import { hashTap } from '../sync/protocol/hash-tap.js';
import { SNAPSHOT_IO, SNAPSHOT_ZLIB } from '../sync/protocol/snapshot-pack.js';
import { END_OF_VERSION, PROTOCOL_VERSION, SNAPSHOT_HEADERS, SNAPSHOT_MEDIA_TYPE } from '../sync/protocol/types.js';
import type { HubAccess } from './access.js';
import { bodyStream, guardedBody } from './body.js';
import type { DatasetStore } from './dataset-store.js';
import type { ServerLimits } from './limits.js';
import { badRequest, checkContentType, sendJson } from './request.js';
import type { DatasetQuota } from './resources.js';
import { siteOwned } from './site-guard.js';
import type { TokenGrant } from './tokens.js';
import { UPLOAD_PREFIX } from './snapshot.js';

/** What an upload needs of the hub. */
export interface UploadContext {
  dir: string;
  store: DatasetStore;
  access: HubAccess;
  quota: DatasetQuota;
  limits: ServerLimits;
}

function bad(why: string): CrsyncError {
  return new CrsyncError('bad_snapshot', `the uploaded snapshot was refused: ${why}`, { hint: 'push again (the upload starts over), or push the change stream with --no-snapshot' });
}

function header(req: IncomingMessage, name: string, pattern: RegExp): string {
  const v = req.headers[name];
  if (typeof v !== 'string' || !pattern.test(v)) throw badRequest(`a snapshot upload needs the ${name} header`, 'see docs/protocol.md, "First push by snapshot"');
  return v;
}

/**
 * POST …/snapshot: a first push by snapshot. Refused before its body is read when the dataset
 * holds changes (dataset_not_empty: the client pushes its change stream), when the token may not
 * create it, or when the announced size is over --max-body. The body is gunzipped to a temporary
 * file in the hub's folder, never more than the announced size, checked against the announced
 * sha256, and handed to the store, which checks the file and installs it; a refused or cut upload
 * leaves nothing behind (the client sends it again from the start).
 */
export async function receiveSnapshot(req: IncomingMessage, res: ServerResponse, name: string, grant: TokenGrant | null, ctx: UploadContext): Promise<void> {
  checkContentType(req, SNAPSHOT_MEDIA_TYPE);
  const protocol = req.headers[SNAPSHOT_HEADERS.protocol];
  if (protocol !== String(PROTOCOL_VERSION)) throw badRequest(`the snapshot is of protocol v${String(protocol)}, this hub speaks v${PROTOCOL_VERSION}`, 'push with a crsync of the same protocol version, or --no-snapshot');
  const site = Buffer.from(header(req, SNAPSHOT_HEADERS.site, /^[0-9a-fA-F]{32}$/), 'hex');
  const version = BigInt(header(req, SNAPSHOT_HEADERS.version, /^\d{1,16}$/));
  const size = Number(header(req, SNAPSHOT_HEADERS.size, /^\d{1,16}$/));
  const sha256 = header(req, SNAPSHOT_HEADERS.sha256, /^[0-9a-f]{64}$/);
  const max = ctx.limits.maxBodyBytes;
  if (size > max || Number(req.headers['content-length'] ?? 0) > max) {
    throw new CrsyncError('body_too_large', `the snapshot is ${size} bytes, over the hub's ${max}`, { hint: 'push the change stream (--no-snapshot), or the operator can raise crsync serve --max-body' });
  }
  let isNew = false;
  if (await ctx.store.exists(name)) {
    const d = await ctx.store.open(name, { create: false });
    try {
      const info = await d.info();
      if (info.dbVersion !== '0') throw new CrsyncError('dataset_not_empty', `dataset ${name} already holds changes`, { hint: 'push its change stream instead (crsync does so by itself)' });
      if (grant && !(await d.claimSite(site, grant.owner))) throw siteOwned(site);
    } finally {
      await d.close();
    }
  } else isNew = await ctx.access.mayCreate(name, grant);
  const tmp = join(ctx.dir, `${UPLOAD_PREFIX}${name}-${randomBytes(6).toString('hex')}.db`);
  try {
    await receiveFile(req, tmp, size, sha256, ctx.limits);
    const adopted = await ctx.store.adoptSnapshot(name, tmp, { site, version, owner: grant?.owner, maxValueBytes: ctx.limits.maxValueBytes });
    if (isNew && !adopted.replaced) ctx.quota.created();
    sendJson(res, 200, {
      siteId: Buffer.from(adopted.site).toString('hex'),
      dbVersion: adopted.version.toString(),
      changes: adopted.changes,
      received: { version: adopted.version.toString(), seq: END_OF_VERSION.toString() },
    });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Writes the gunzipped body to `tmp`; at most `size` bytes, and they must hash to `sha256`. */
async function receiveFile(req: IncomingMessage, tmp: string, size: number, sha256: string, limits: ServerLimits): Promise<void> {
  const tap = hashTap({ bytes: size, tooMany: () => bad(`it unpacks to more than the announced ${size} bytes`) });
  const body = Readable.from(guardedBody(bodyStream(req, 'identity'), { ...limits, maxBytes: limits.maxBodyBytes, framed: false }));
  try {
    await pipeline(body, createGunzip(SNAPSHOT_ZLIB), tap.stream, createWriteStream(tmp, SNAPSHOT_IO));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw bad('it is not valid gzip, or it was cut short');
    if (err instanceof CrsyncError) throw err;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || req.destroyed) throw new CrsyncError('truncated_stream', `the snapshot upload was cut after ${tap.bytes} bytes`, { hint: 'push again; the upload starts over' });
    throw err;
  }
  if (tap.bytes !== size) throw bad(`it is ${tap.bytes} bytes, not the announced ${size}`);
  const sum = tap.digest();
  if (sum !== sha256) throw bad(`its sha256 is ${sum}, not the announced ${sha256}`);
}
