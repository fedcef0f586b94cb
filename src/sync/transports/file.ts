import { existsSync, rmSync, statSync } from 'node:fs';
import { CrsyncError } from '../../errors.js';
import { openStore } from '../../db/store.js';
import { backupInto, sealSnapshot } from '../../db/snapshot.js';
import { installUpload } from '../../db/snapshot-install.js';
import { stringifySqlJson } from '../../values.js';
import { jsonSide } from '../../db/conflicts/detect.js';
import { cursorToJson } from '../protocol/codec.js';
import { ServedReplica, toWireConflict } from '../endpoint.js';
import type { DatasetInfo, Page, PushResponse, SchemaRequest, StreamEnd } from '../protocol/types.js';
import { filePathOf } from './url.js';
import type { PullRequest, PushRequest, SnapshotReceipt, SnapshotUploadMeta, SnapshotUploadReceipt, TransferStats, Transport } from './transport.js';


/** Direct peer-to-peer sync with another crsync database file: no server, same operations. */
export class FileTransport implements Transport {
  readonly stats: TransferStats = { bytesSent: 0, bytesReceived: 0 };
  private served: ServedReplica | undefined;
  private readonly path: string;

  constructor(readonly url: string) {
    this.path = filePathOf(url);
  }

  private open(create: boolean): ServedReplica {
    if (!this.served) {
      if (!create && !existsSync(this.path)) {
        throw new CrsyncError('dataset_not_found', `no database at ${this.path}`, {
          hint: 'check the remote path (crsync remote -v); `crsync push --create` creates it',
        });
      }
      this.served = new ServedReplica(openStore(this.path, { create }), this.path);
    }
    return this.served;
  }

  async info(site: Uint8Array): Promise<DatasetInfo> {
    return this.open(false).info(site);
  }

  async pull(req: PullRequest, onPage: (page: Page) => void | Promise<void>, signal?: AbortSignal): Promise<StreamEnd> {
    const served = this.open(false);
    const reader = served.openReader();
    let changes = 0;
    let cursor = req.since;
    try {
      for (const page of served.pull(reader.db, req.site, req.since, req.pageSize)) {
        signal?.throwIfAborted();
        await onPage(page);
        changes += page.changes.length;
        cursor = page.cursor;
      }
      if (req.conflictsAfter !== undefined) {
        const c = served.conflictsFor(req.site, req.conflictsAfter);
        req.onConflicts?.(c.conflicts, c.lastId);
      }
      if (req.resolutionsAfter !== undefined) {
        const r = served.resolutionsFor(req.site, req.resolutionsAfter);
        req.onResolutions?.(r.resolutions, r.lastId);
      }
    } finally {
      reader.close();
    }
    return { cursor, changes };
  }

  async push(req: PushRequest, pages: AsyncIterable<Page>, signal?: AbortSignal): Promise<PushResponse> {
    const served = this.open(true);
    const apply = served.pushApplier(req.site, req.seen);
    const conflicts: PushResponse['conflicts'] = [];
    let received = 0;
    let count = 0;
    let cursor = served.received(req.site);
    for await (const page of pages) {
      signal?.throwIfAborted();
      const r = apply(page);
      received += r.received;
      count++;
      cursor = cursorToJson(page.cursor);
      for (const c of r.conflicts) conflicts.push(toWireConflict(c, stringifySqlJson(jsonSide(c.ours)), stringifySqlJson(jsonSide(c.theirs))));
    }
    if (req.conflicts && req.conflicts.length > 0) served.recordReported(req.site, req.conflicts);
    if (req.resolutions && req.resolutions.length > 0) served.recordResolutions(req.site, req.resolutions);
    return { received, pages: count, cursor, conflicts };
  }

  async applySchema(req: SchemaRequest): Promise<void> {
    this.open(true).applySchema(req, `push from ${this.url}`);
  }

  async countPending(req: PullRequest): Promise<number> {
    return this.open(false).countPending(req.site, req.since);
  }

  async snapshot(out: string, signal?: AbortSignal): Promise<SnapshotReceipt | null> {
    if (!existsSync(this.path)) this.open(false);
    rmSync(out, { force: true });
    try {
      await backupInto(this.path, out, signal);
      const made = sealSnapshot(out);
      const bytes = statSync(out).size;
      this.stats.bytesReceived += bytes;
      return { site: made.site, version: made.version, bytes };
    } catch (err) {
      rmSync(out, { force: true });
      throw err;
    }
  }

  /** A missing or empty peer file becomes the copy itself, with an identity of its own. */
  async uploadSnapshot(copy: string, meta: SnapshotUploadMeta): Promise<SnapshotUploadReceipt | null> {
    // Our connection to the file (opened by info) must not outlive it: the file is replaced.
    await this.close();
    const made = installUpload(copy, this.path, meta);
    this.stats.bytesSent += made.bytes;
    return { siteId: made.site, dbVersion: made.version, changes: made.changes };
  }

  async close(): Promise<void> {
    this.served?.store.close();
    this.served = undefined;
  }
}

export { filePathOf };
