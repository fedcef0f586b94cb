import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CrsyncError, toCrsyncError } from '../errors.js';
import { encodeConflicts, encodeEnd, encodeError, encodePage, encodeResolutions } from '../sync/protocol/codec.js';
import type { Page, StreamEnd } from '../sync/protocol/types.js';
import { badRequest, conflictsAfterParam, cursorParams, pageSizeParam, sendJson, siteParam, waitParam } from './request.js';
import { acceptsGzip } from './encoding.js';
import type { MemoryBudget } from './budget.js';
import type { LivePulls } from './live.js';
import type { ServerLimits } from './limits.js';
import type { Dataset, PageStream } from './dataset-store.js';
import { PullAnswer } from './pull-answer.js';

/** What a pull needs of its hub. */
export interface PullContext {
  limits: ServerLimits;
  budget: MemoryBudget;
  live: LivePulls;
  log: (line: string) => void;
  closing: () => boolean;
}

/**
 * Encoded pages by page object: a store that hands the same page to many pulls (the SQLite
 * store's pulls near the head, see head-pages.ts) has it encoded once.
 */
const encoded = new WeakMap<Page, Buffer>();
function encodeShared(page: Page): Buffer {
  let b = encoded.get(page);
  if (!b) {
    b = encodePage(page);
    encoded.set(page, b);
  }
  return b;
}

/** The `knownSite` and `knownSchema` parameters: the dataset's identity as the client last heard it (both or neither). */
function knownParams(q: URLSearchParams): { site: string; schemaHash: string } | undefined {
  const site = q.get('knownSite');
  const schemaHash = q.get('knownSchema');
  if (site === null && schemaHash === null) return undefined;
  if (site === null || !/^[0-9a-f]{32}$/.test(site)) throw badRequest('knownSite must be the 32 hex digits of a site id (with knownSchema)');
  if (schemaHash === null || !/^[0-9a-f]{64}$/.test(schemaHash)) throw badRequest('knownSchema must be the 64 hex digits of a schema hash (with knownSite)');
  return { site, schemaHash };
}

/** Serves GET /changes of one dataset: a count, or the stream of pages (held first when it is a live pull). */
export function pullStreamer(ctx: PullContext): (req: IncomingMessage, res: ServerResponse, d: Dataset, q: URLSearchParams) => Promise<void> {
  const { limits, budget, live, log } = ctx;

  /**
   * Waits until a pull's answer can take more; a client that stops reading is cut off. One timer
   * per wait, cleared when it ends: a pull waits thousands of times, and waits that left live
   * timers behind (AbortSignal.timeout) piled up in the old generation until a full GC.
   */
  const drained = (out: Writable, gone: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      const end = (err?: Error): void => {
        clearTimeout(timer);
        out.off('drain', onDrain);
        gone.removeEventListener('abort', onGone);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = (): void => end();
      const onGone = (): void => end(gone.reason as Error);
      const timer = setTimeout(() => end(new CrsyncError('request_timeout', `the client read nothing for ${limits.idleTimeoutMs} ms`)), limits.idleTimeoutMs);
      if (gone.aborted) return end(gone.reason as Error);
      out.once('drain', onDrain);
      gone.addEventListener('abort', onGone, { once: true });
    });

  return async function streamChanges(req, res, d, q) {
    const site = siteParam(q, true);
    const since = cursorParams(q);
    if (q.get('count')) {
      sendJson(res, 200, { count: await d.countPending(site, since) });
      return;
    }
    // A client may ask for more than this hub allows: it gets smaller pages, not an error.
    const pageSize = Math.min(pageSizeParam(q), limits.maxPageSize);
    const conflictsAfter = conflictsAfterParam(q);
    const resolutionsAfter = conflictsAfterParam(q, 'resolutionsAfter');
    const known = knownParams(q);
    // A live pull with nothing to carry waits here for a commit; then it is an ordinary pull.
    const wait = waitParam(q);
    if (wait > 0 && !ctx.closing()) {
      await live.hold(d, since, conflictsAfter, wait, res);
      if (res.destroyed) return;
    }
    // A client that names the identity it knows gets the current one in the end frame, and when
    // they differ (the schema changed, the dataset was made anew) no page at all: it asks for the
    // dataset's info and pulls again. So a live client needs no info request per cycle.
    let identity: Pick<StreamEnd, 'hubSite' | 'schemaHash'> = {};
    if (known) {
      const info = await d.info();
      identity = { hubSite: info.siteId, schemaHash: info.schema.hash };
      if (identity.hubSite !== known.site || identity.schemaHash !== known.schemaHash) {
        new PullAnswer(res, false).end(encodeEnd({ cursor: since, changes: 0, ...identity }));
        return;
      }
    }
    // A page's worth of the hub-wide budget, before the answer starts (503 busy if it is spent);
    // a page larger than that is counted too, until the socket has taken it.
    const base = budget.estimatePage(pageSize);
    budget.reserve(base, 'a pull');
    let pages: PageStream;
    try {
      // Before the answer starts, so a refusal (a cursor from the future) is still a JSON error.
      pages = await d.pull(site, since, pageSize);
    } catch (err) {
      budget.release(base);
      throw err;
    }
    const answer = new PullAnswer(res, acceptsGzip(String(req.headers['accept-encoding'] ?? '')));
    // A client that goes away mid-stream must not leave us waiting for a 'drain' that never comes.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    let changes = 0;
    let cursor = since;
    let n = 0;
    try {
      for await (const page of pages) {
        if (gone.signal.aborted) return;
        changes += page.changes.length;
        cursor = page.cursor;
        const frame = encodeShared(page);
        budget.notePage(page.changes.length, frame.length);
        const extra = Math.max(0, frame.length - base);
        budget.force(extra);
        try {
          if (!answer.write(frame)) await drained(answer.stream!, gone.signal);
        } finally {
          budget.release(extra);
        }
        // Between pages, let other clients' requests run (an answer of one page goes out at once).
        if (n++ > 0 || answer.stream) await yieldToLoop();
      }
      // Conflicts this client's writes were part of, recorded here since it last asked.
      if (conflictsAfter !== undefined) {
        const c = await d.conflictsFor(site, conflictsAfter);
        if (c.conflicts.length > 0 || c.lastId > conflictsAfter) answer.write(encodeConflicts(c.conflicts, c.lastId));
      }
      // Resolutions made or heard of here since it last asked, after the conflicts they close.
      if (resolutionsAfter !== undefined) {
        const r = await d.resolutionsFor(site, resolutionsAfter);
        if (r.resolutions.length > 0 || r.lastId > resolutionsAfter) answer.write(encodeResolutions(r.resolutions, r.lastId));
      }
      answer.end(encodeEnd({ cursor, changes, ...identity }));
    } catch (err) {
      if (gone.signal.aborted) return;
      const e = toCrsyncError(err);
      log(`pull ${d.name}: ${e.message}`);
      if (e.code === 'request_timeout') {
        // The client stopped reading: nothing more can reach it.
        answer.destroy();
        return;
      }
      answer.end(encodeError(e.code, e.message));
    } finally {
      budget.release(base);
      await pages.return?.();
      if (gone.signal.aborted) answer.destroy();
    }
  };
}
