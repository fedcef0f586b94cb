import { readPages } from '../../db/changes/apply.js';
import { rowEntries, type RowEntry } from '../../db/changes/entries.js';
import { getPeer, laterCursor } from '../../db/state/peers.js';
import { requireRemote } from '../../db/state/remotes.js';
import { openStore, siteId } from '../../db/store.js';
import type { Change } from '../protocol/types.js';
import { cursorFromJson } from '../protocol/codec.js';
import { DEFAULT_PAGE_SIZE, END_OF_VERSION, type Cursor } from '../protocol/types.js';
import { openTransport } from '../transports/open.js';
import { withRetries, type RetryOptions } from './retry.js';

/** Options of `crsync diff`. */
export interface DiffOptions {
  dbPath: string;
  remote: string;
  env: NodeJS.ProcessEnv;
  /** Outgoing only: do not ask the remote. */
  offline?: boolean;
  table?: string;
  /** Local history after this db_version instead (no remote). */
  since?: bigint;
  signal?: AbortSignal;
  retry?: Partial<RetryOptions>;
}

/** Result of `crsync diff`: what a push would send and a pull would bring, row by row. */
export interface DiffResult {
  /** null with --since (local history, no remote). */
  remote: string | null;
  outgoing: RowEntry[];
  incoming: RowEntry[];
}

function* changesOf(pages: Iterable<{ changes: Change[] }>): Generator<Change> {
  for (const p of pages) yield* p.changes;
}

/**
 * Reads, never writes: outgoing from the local stream after the push cursor (what the remote has
 * acknowledged, or further when it says so), leaving out what the remote delivered, as a push
 * does; incoming from a pull stream of the remote that is decoded and folded into rows, never
 * merged, and whose cursors are not kept.
 */
export async function diffReplica(opts: DiffOptions): Promise<DiffResult> {
  const store = openStore(opts.dbPath, {});
  try {
    const db = store.db;
    const keep = (e: RowEntry): boolean => opts.table === undefined || e.table === opts.table;
    if (opts.since !== undefined) {
      const from: Cursor = { version: opts.since, seq: END_OF_VERSION };
      return { remote: null, outgoing: rowEntries(db, changesOf(readPages(db, from, DEFAULT_PAGE_SIZE))).filter(keep), incoming: [] };
    }
    const remote = requireRemote(db, opts.remote);
    const local = siteId(db);
    const peer = remote.remoteSite ? getPeer(db, remote.remoteSite) : undefined;
    const outgoingFrom = (acked: Cursor): RowEntry[] => {
      const filter = remote.remoteSite ? { excludeDeliveredBy: remote.remoteSite } : {};
      return rowEntries(db, changesOf(readPages(db, acked, DEFAULT_PAGE_SIZE, filter))).filter(keep);
    };
    if (opts.offline) return { remote: remote.name, outgoing: outgoingFrom(remote.push), incoming: [] };
    const t = openTransport(remote.url, opts.env, remote.tokenEnv);
    try {
      const info = await withRetries(() => t.info(local), { ...opts.retry, signal: opts.signal });
      const sameRemote = !remote.remoteSite || remote.remoteSite.equals(Buffer.from(info.siteId, 'hex'));
      // A remote created again since (another site id) has none of our stream: a push sends it all.
      const acked = sameRemote ? laterCursor(cursorFromJson(info.received) ?? remote.push, remote.push) : { version: 0n, seq: -1n };
      const since = sameRemote ? laterCursor(remote.pull, peer?.received ?? remote.pull) : { version: 0n, seq: -1n };
      const incoming: Change[] = [];
      await withRetries(
        () => {
          incoming.length = 0;
          return t.pull({ site: local, since, pageSize: DEFAULT_PAGE_SIZE }, (page) => void incoming.push(...page.changes), opts.signal);
        },
        { ...opts.retry, signal: opts.signal },
      );
      return { remote: remote.name, outgoing: outgoingFrom(acked), incoming: rowEntries(db, incoming).filter(keep) };
    } finally {
      await t.close();
    }
  } finally {
    store.close();
  }
}
