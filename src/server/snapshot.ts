import { randomBytes } from 'node:crypto';
import { createReadStream, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CrsyncError } from '../errors.js';
import { PROTOCOL_VERSION, SNAPSHOT_HEADERS, SNAPSHOT_MEDIA_TYPE } from '../sync/protocol/types.js';
import type { Dataset } from './dataset-store.js';
import { packSnapshot, SNAPSHOT_IO } from '../sync/protocol/snapshot-pack.js';

/** How long a snapshot nobody downloads is kept for a resumed or a next clone. */
const KEEP_MS = 5 * 60_000;

/** Prefix of the hub's temporary snapshot files in its folder (never a dataset name: a dot). */
const PREFIX = '.snapshot-';

/** Prefix of the files of snapshot uploads being received (removed with the rest at start). */
export const UPLOAD_PREFIX = `${PREFIX}up-`;

/** One gzipped snapshot file of a dataset, as served. */
interface Built {
  key: string;
  path: string;
  etag: string;
  gzBytes: number;
  rawBytes: number;
  sha256: string;
  version: bigint;
  site: string;
  users: number;
  stale: boolean;
}

interface Entry {
  key: string;
  built: Promise<Built>;
}

/**
 * Snapshots of the hub's datasets, one file per dataset at a time: made on the first request
 * (VACUUM INTO a temporary file in the hub's folder, then gzipped: snapshot-pack.ts), shared by the requests that
 * come while the dataset is unchanged (so a cut download resumes with Range against the same
 * bytes), removed when the dataset moved on and nobody reads it, after KEEP_MS unused, and at
 * shutdown. Only one snapshot of a dataset is made at a time.
 */
export class Snapshots {
  private readonly entries = new Map<string, Entry>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly dir: string) {
    // Left over by a hub that was killed while making or serving one.
    for (const f of readdirSync(dir)) if (f.startsWith(PREFIX)) rmSync(join(dir, f), { force: true });
  }

  /** Answers GET …/snapshot: the gzipped file, or the part of it after a Range start. */
  async serve(req: IncomingMessage, res: ServerResponse, d: Dataset, idleTimeoutMs: number): Promise<void> {
    const b = await this.get(d);
    b.users++;
    res.on('close', () => this.release(d.name, b));
    let start = 0;
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (range !== undefined && (ifRange === undefined || ifRange === b.etag)) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m) throw new CrsyncError('range_not_satisfiable', `unsupported Range ${range}`, { hint: 'ask for bytes=<start>-' });
      start = Number(m[1]);
      if (start >= b.gzBytes) {
        res.setHeader('content-range', `bytes */${b.gzBytes}`);
        throw new CrsyncError('range_not_satisfiable', `Range start ${start} is at or past the snapshot's ${b.gzBytes} bytes`, { hint: 'download it again from the start' });
      }
    }
    res.writeHead(start > 0 ? 206 : 200, {
      'content-type': SNAPSHOT_MEDIA_TYPE,
      'content-length': String(b.gzBytes - start),
      'accept-ranges': 'bytes',
      etag: b.etag,
      ...(start > 0 ? { 'content-range': `bytes ${start}-${b.gzBytes - 1}/${b.gzBytes}` } : {}),
      [SNAPSHOT_HEADERS.protocol]: String(PROTOCOL_VERSION),
      [SNAPSHOT_HEADERS.site]: b.site,
      [SNAPSHOT_HEADERS.version]: b.version.toString(),
      [SNAPSHOT_HEADERS.size]: String(b.rawBytes),
      [SNAPSHOT_HEADERS.sha256]: b.sha256,
    });
    // A client that stops reading is cut off after the hub's idle timeout.
    res.setTimeout(idleTimeoutMs, () => res.destroy());
    try {
      await pipeline(createReadStream(b.path, { ...SNAPSHOT_IO, start }), res);
    } catch {
      // The client went away: nothing more can reach it; its rerun resumes with Range.
      res.destroy();
    }
  }

  /** Removes every snapshot file (hub shutdown). */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const e of this.entries.values()) void e.built.then((b) => rmSync(b.path, { force: true }), () => {});
    this.entries.clear();
  }

  private async get(d: Dataset): Promise<Built> {
    const info = await d.info();
    const key = `${info.siteId}/${info.dbVersion}/${info.schema.version}/${info.schema.hash}`;
    const old = this.entries.get(d.name);
    if (old?.key === key) {
      const b = await old.built.catch(() => undefined);
      if (b && !b.stale) return b;
    }
    clearTimeout(this.timers.get(d.name));
    // One snapshot of a dataset at a time: a new one starts once the one being made is done.
    const before = old ? old.built.catch(() => undefined) : Promise.resolve(undefined);
    const built = before.then(async (prev) => {
      if (prev) this.retire(prev);
      return this.build(d, key);
    });
    const entry: Entry = { key, built };
    this.entries.set(d.name, entry);
    built.catch(() => {
      if (this.entries.get(d.name) === entry) this.entries.delete(d.name);
    });
    return built;
  }

  private async build(d: Dataset, key: string): Promise<Built> {
    const tag = `${PREFIX}${d.name}-${randomBytes(6).toString('hex')}`;
    const raw = join(this.dir, `${tag}.db`);
    const gz = join(this.dir, `${tag}.db.gz`);
    try {
      const made = await d.snapshot(raw);
      const packed = await packSnapshot(raw, gz);
      return {
        key,
        path: gz,
        etag: `"${packed.gzSha256}"`,
        gzBytes: packed.gzBytes,
        rawBytes: packed.rawBytes,
        sha256: packed.rawSha256,
        version: made.version,
        site: Buffer.from(made.site).toString('hex'),
        users: 0,
        stale: false,
      };
    } catch (err) {
      rmSync(gz, { force: true });
      throw err;
    } finally {
      rmSync(raw, { force: true });
    }
  }

  private release(name: string, b: Built): void {
    b.users--;
    if (b.stale) return this.retire(b);
    if (b.users > 0) return;
    clearTimeout(this.timers.get(name));
    const t = setTimeout(() => {
      this.timers.delete(name);
      const e = this.entries.get(name);
      if (e?.key === b.key && b.users === 0) {
        this.entries.delete(name);
        this.retire(b);
      }
    }, KEEP_MS);
    t.unref();
    this.timers.set(name, t);
  }

  /** A snapshot the dataset has moved past: its file goes once its last reader is done. */
  private retire(b: Built): void {
    b.stale = true;
    if (b.users <= 0) rmSync(b.path, { force: true });
  }
}
