import { START, type Cursor } from '../../sync/protocol/types.js';
import type { Db } from '../store.js';
import { stmt } from '../statements.js';

/** What a serving replica (a hub dataset, or a peer file) knows of a site that talks to it. */
export interface PeerRecord {
  /** How far in the peer's own stream we have committed its pushes. */
  received: Cursor;
  /** How far in our stream the peer has pulled. */
  seen: bigint;
  /**
   * When a page of the peer's stream was last committed here, or a push of it last told us how
   * far it pulled (ISO time): on a hub, the time of the site's last push that landed. Null: never.
   */
  receivedAt: string | null;
}

/** The peer's record, zeroed when it never talked to us. */
export function getPeer(db: Db, site: Uint8Array): PeerRecord {
  const r = stmt(db, 'SELECT recv_version, recv_seq, seen_version, last_seen FROM crsync_peers WHERE site_id = ?', { safeIntegers: true })
    .get(site) as { recv_version: bigint; recv_seq: bigint; seen_version: bigint; last_seen: string | null } | undefined;
  if (!r) return { received: START, seen: START.version, receivedAt: null };
  return { received: { version: r.recv_version, seq: r.recv_seq }, seen: r.seen_version, receivedAt: r.last_seen };
}

/**
 * Commits how far the peer's stream is applied here (inside the page's transaction), whether the
 * peer pushed it or we pulled it: a push from that peer and a pull from it both resume there.
 * Never moves backwards.
 */
export function setPeerReceived(db: Db, site: Uint8Array, c: Cursor): void {
  stmt(
    db,
    `INSERT INTO crsync_peers (site_id, recv_version, recv_seq, last_seen) VALUES (?, ?, ?, ?)
     ON CONFLICT (site_id) DO UPDATE SET recv_version = excluded.recv_version, recv_seq = excluded.recv_seq, last_seen = excluded.last_seen
     WHERE excluded.recv_version > recv_version OR (excluded.recv_version = recv_version AND excluded.recv_seq > recv_seq)`,
  ).run(site, c.version, c.seq, new Date().toISOString());
}

/** The later of two cursors. */
export function laterCursor(a: Cursor, b: Cursor): Cursor {
  return a.version > b.version || (a.version === b.version && a.seq >= b.seq) ? a : b;
}

/** Notes that a peer has pulled our stream up to `version` (never moves backwards). */
export function notePeerSeen(db: Db, site: Uint8Array, version: bigint): void {
  stmt(
    db,
    `INSERT INTO crsync_peers (site_id, seen_version, last_seen) VALUES (?, ?, ?)
     ON CONFLICT (site_id) DO UPDATE SET seen_version = max(seen_version, excluded.seen_version), last_seen = excluded.last_seen`,
  ).run(site, version, new Date().toISOString());
}
