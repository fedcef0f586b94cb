import { END_OF_VERSION, isAfter, type Change, type Cursor, type Page } from '../../sync/protocol/types.js';
import { quoteIdent, type Db } from '../store.js';
import { listReplicatedTables } from '../schema/read.js';
import { deliveredAfter, notDeliveredSql, type DeliveredRanges } from './delivered.js';

const COLUMNS = '"table", pk, cid, val, col_version, db_version, site_id, cl, seq';

/** Default byte budget of one page (values, keys and per-change overhead, as encoded). */
export const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;

/** What to leave out of a change stream sent to a peer. */
export interface StreamFilter {
  /** The receiving peer's site: the local versions it delivered are never echoed back. */
  excludeDeliveredBy?: Uint8Array;
  /**
   * Most bytes of one page (estimated as encoded); a page holds at least one change, so a
   * value up to the receiver's value limit always travels.
   */
  maxBytes?: number;
}

/** A run of versions to read: (after, upTo], or one version from a seq on. */
type Span = { kind: 'rest'; version: bigint; seq: bigint } | { kind: 'range'; after: bigint; upTo: bigint | null };

/** How a stream leaves out what the receiver delivered: skipped spans, or a per-row SQL test. */
interface Plan {
  spans: Span[];
  /** SQL appended to every span's WHERE (with `site` as its parameter), or ''. */
  where: string;
  site: Buffer | undefined;
}

function plan(db: Db, since: Cursor, filter: StreamFilter, alias: string): Plan {
  const peer = filter.excludeDeliveredBy;
  if (!peer) return { spans: spans(since, undefined), where: '', site: undefined };
  const ranges = deliveredAfter(db, peer, since.version);
  if (ranges) return { spans: spans(since, ranges), where: '', site: undefined };
  return { spans: spans(since, undefined), where: notDeliveredSql(alias), site: Buffer.from(peer) };
}

/**
 * The spans of the stream after `since` that are not excluded: the rest of the cursor's own
 * version, then the gaps between the excluded ranges. Excluded versions are never read at all
 * (crsql_changes takes `db_version > ? AND db_version < ?` as index constraints).
 */
function spans(since: Cursor, exclude: DeliveredRanges | undefined): Span[] {
  const out: Span[] = [];
  const excluded = (v: bigint): boolean => exclude?.has(v) === true;
  if (since.seq !== END_OF_VERSION && since.version > 0n && !excluded(since.version)) out.push({ kind: 'rest', version: since.version, seq: since.seq });
  let after = since.version;
  for (const [first, last] of exclude ?? []) {
    if (last <= after) continue;
    if (first > after + 1n) out.push({ kind: 'range', after, upTo: first - 1n });
    after = last;
  }
  out.push({ kind: 'range', after, upTo: null });
  return out;
}

function spanQuery(columns: string, from: string, s: Span, p: Plan, order: string): { sql: string; args: unknown[] } {
  const tail = p.site ? [p.site] : [];
  if (s.kind === 'rest') return { sql: `SELECT ${columns} FROM ${from} WHERE db_version = ? AND seq > ?${p.where}${order}`, args: [s.version, s.seq, ...tail] };
  if (s.upTo === null) return { sql: `SELECT ${columns} FROM ${from} WHERE db_version > ?${p.where}${order}`, args: [s.after, ...tail] };
  return { sql: `SELECT ${columns} FROM ${from} WHERE db_version > ? AND db_version <= ?${p.where}${order}`, args: [s.after, s.upTo, ...tail] };
}

/** The newest db_version in the replicated tables (0 when empty): read from the clock indexes. */
function newestVersion(db: Db): bigint {
  let max = 0n;
  for (const t of listReplicatedTables(db)) {
    const v = db.prepare(`SELECT max(db_version) FROM ${quoteIdent(`${t}__crsql_clock`)}`).pluck().safeIntegers(true).get() as bigint | null;
    if (v !== null && v > max) max = v;
  }
  return max;
}

/** Runs `body` in one read transaction (one snapshot), unless the connection is already in one. */
function* inSnapshot<T>(db: Db, body: () => Generator<T>): Generator<T> {
  const own = !db.inTransaction;
  if (own) db.exec('BEGIN');
  try {
    yield* body();
  } finally {
    if (own && db.inTransaction) db.exec('COMMIT');
  }
}

/** Bytes a change takes in a frame, near enough to cut pages by (msgpack: lengths plus small headers). */
export function changeBytes(c: Change): number {
  const v = c[3];
  const val = typeof v === 'string' ? Buffer.byteLength(v) : v instanceof Uint8Array ? v.length : 9;
  return c[0].length + c[1].length + c[2].length + val + 64;
}

/**
 * Streams the changes after `since` in pages of at most `pageSize` changes and `maxBytes`, in
 * (db_version, seq) order, from one snapshot. The connection must not be used for anything else
 * until it is done. Every page's cursor is the position of its last change. The last page's
 * cursor stands at the end of the snapshot's newest version (possibly an empty page), so the
 * next stream starts after everything this one has looked at, sent or not.
 */
export function readPages(db: Db, since: Cursor, pageSize: number, filter: StreamFilter = {}): Generator<Page> {
  return inSnapshot(db, function* () {
    const pages = new PageCutter(since, pageSize, filter.maxBytes ?? DEFAULT_PAGE_BYTES);
    const p = plan(db, since, filter, 'c');
    for (const span of p.spans) {
      const q = spanQuery(COLUMNS, 'crsql_changes AS c', span, p, ' ORDER BY db_version, seq');
      for (const row of db.prepare(q.sql).raw(true).safeIntegers(true).iterate(...q.args) as Iterable<Change>) yield* pages.add(row);
    }
    yield* pages.end(newestVersion(db));
  });
}

/**
 * Cuts a stream of changes (in stream order) into the pages readPages sends: at most `pageSize`
 * changes and `maxBytes` each (at least one change), every cursor the position of its page's
 * last change, and a last page that stands at the end of the newest version (possibly empty).
 * A hub on another store cuts its stream with it too, so both send the same pages.
 */
export class PageCutter {
  private changes: Change[] = [];
  private bytes = 0;
  private cursor: Cursor;
  private yielded: Cursor;

  constructor(
    since: Cursor,
    private readonly pageSize: number,
    private readonly maxBytes: number,
  ) {
    this.cursor = since;
    this.yielded = since;
  }

  /** Takes the next change; yields the pages it completes. */
  *add(row: Change): Generator<Page> {
    const size = changeBytes(row);
    if (this.changes.length > 0 && this.bytes + size > this.maxBytes) yield this.cut();
    this.changes.push(row);
    this.bytes += size;
    this.cursor = { version: row[5], seq: row[8] };
    if (this.changes.length >= this.pageSize) yield this.cut();
  }

  /** The stream ended, its newest version being `newest`: yields the last page, if there is one to send. */
  *end(newest: bigint): Generator<Page> {
    if (newest > 0n && isAfter(this.cursor, newest, END_OF_VERSION)) this.cursor = { version: newest, seq: END_OF_VERSION };
    if (this.changes.length > 0 || this.cursor !== this.yielded) yield this.cut();
  }

  /** The position of the last change taken (where reading resumes). */
  get position(): Cursor {
    return this.cursor;
  }

  private cut(): Page {
    const page = { changes: this.changes, cursor: this.cursor };
    this.yielded = this.cursor;
    this.changes = [];
    this.bytes = 0;
    return page;
  }
}

/**
 * Number of changes after a cursor that a stream with this filter would carry, per table.
 * Counted in SQL on the clock tables' db_version index (one row per change, as crsql_changes
 * has): no value is read, and excluded versions are not visited.
 */
export function countChangesAfter(db: Db, since: Cursor, filter: StreamFilter = {}): { total: number; byTable: Record<string, number> } {
  const byTable: Record<string, number> = {};
  let total = 0;
  const p = plan(db, since, filter, 'k');
  for (const t of listReplicatedTables(db)) {
    const clock = `${quoteIdent(`${t}__crsql_clock`)} AS k`;
    let n = 0;
    for (const span of p.spans) {
      const q = spanQuery('count(*)', clock, span, p, '');
      n += Number(db.prepare(q.sql).pluck().safeIntegers(true).get(...q.args) as bigint);
    }
    if (n > 0) byTable[t] = n;
    total += n;
  }
  return { total, byTable };
}
