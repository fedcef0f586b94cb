import { CrsyncError, UsageError } from '../../errors.js';
import { START, type Cursor } from '../../sync/protocol/types.js';
import type { Db } from '../store.js';
import { stmt } from '../statements.js';

/** A configured remote and its sync cursors. */
export interface RemoteRecord {
  name: string;
  url: string;
  tokenEnv: string;
  remoteSite: Buffer | null;
  pull: Cursor;
  push: Cursor;
  lastPull: string | null;
  lastPush: string | null;
  /** Newest local conflict id reported to the remote (pushes carry the ones after it). */
  conflictsReported: bigint;
  /** Newest remote conflict id we have heard of (pulls ask for the ones after it). */
  conflictsPulled: bigint;
  /** Newest local resolution id pushed to the remote. */
  resolutionsReported: bigint;
  /** Newest remote resolution id we have heard of. */
  resolutionsPulled: bigint;
}

interface RemoteRow {
  name: string;
  url: string;
  token_env: string;
  remote_site: Buffer | null;
  pull_version: bigint;
  pull_seq: bigint;
  push_version: bigint;
  push_seq: bigint;
  last_pull: string | null;
  last_push: string | null;
  conflicts_reported: bigint;
  conflicts_pulled: bigint;
  resolutions_reported: bigint;
  resolutions_pulled: bigint;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ENV = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fromRow(r: RemoteRow): RemoteRecord {
  return {
    name: r.name,
    url: r.url,
    tokenEnv: r.token_env,
    remoteSite: r.remote_site,
    pull: { version: r.pull_version, seq: r.pull_seq },
    push: { version: r.push_version, seq: r.push_seq },
    lastPull: r.last_pull,
    lastPush: r.last_push,
    conflictsReported: r.conflicts_reported,
    conflictsPulled: r.conflicts_pulled,
    resolutionsReported: r.resolutions_reported,
    resolutionsPulled: r.resolutions_pulled,
  };
}

/** Adds a remote. Tokens are never stored: only the name of the env var that holds one. */
export function addRemote(db: Db, name: string, url: string, tokenEnv = 'CRSYNC_TOKEN'): RemoteRecord {
  if (!NAME.test(name)) throw new UsageError(`invalid remote name ${JSON.stringify(name)}`, 'use letters, digits, ".", "_" and "-"');
  if (!ENV.test(tokenEnv)) throw new UsageError(`invalid environment variable name ${JSON.stringify(tokenEnv)}`);
  if (getRemote(db, name)) {
    throw new CrsyncError('remote_exists', `remote ${name} already exists`, {
      hint: `remove it first (crsync remote remove ${name}) or pick another name`,
    });
  }
  stmt(db, 'INSERT INTO crsync_remotes (name, url, token_env, added_at) VALUES (?, ?, ?, ?)').run(
    name,
    url,
    tokenEnv,
    new Date().toISOString(),
  );
  return getRemote(db, name)!;
}

/** All remotes, by name. */
export function listRemotes(db: Db): RemoteRecord[] {
  return (stmt(db, 'SELECT * FROM crsync_remotes ORDER BY name', { safeIntegers: true }).all() as RemoteRow[]).map(fromRow);
}

/** One remote, or undefined. */
export function getRemote(db: Db, name: string): RemoteRecord | undefined {
  const r = stmt(db, 'SELECT * FROM crsync_remotes WHERE name = ?', { safeIntegers: true }).get(name) as RemoteRow | undefined;
  return r ? fromRow(r) : undefined;
}

/** One remote, or a clear error naming the ones that exist. */
export function requireRemote(db: Db, name: string): RemoteRecord {
  const r = getRemote(db, name);
  if (r) return r;
  const names = listRemotes(db).map((x) => x.name);
  const known = names.length ? `known remotes: ${names.join(', ')}` : 'no remotes yet';
  // `crsync pull http://…` (git takes URLs there; crsync takes remote names).
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(name) || name.includes('/')) {
    throw new CrsyncError('no_such_remote', `${name} is a URL or path, not a remote name`, {
      hint: `push, pull and sync take a remote's name (${known}); add this one with \`crsync remote add <name> ${name}\`, or copy it with \`crsync clone ${name}\``,
    });
  }
  throw new CrsyncError('no_such_remote', `no remote named ${name}`, {
    hint: names.length ? `${known} (crsync remote -v)` : 'add one with `crsync remote add <name> <url>`',
  });
}

/**
 * Points a remote at another URL. Cursors stay: if the new URL is another replica (its site id
 * differs), the next sync notices and starts over from the beginning.
 */
export function setRemoteUrl(db: Db, name: string, url: string): RemoteRecord {
  requireRemote(db, name);
  stmt(db, 'UPDATE crsync_remotes SET url = ? WHERE name = ?').run(url, name);
  return getRemote(db, name)!;
}

/** Removes a remote (its cursors go with it). */
export function removeRemote(db: Db, name: string): void {
  requireRemote(db, name);
  stmt(db, 'DELETE FROM crsync_remotes WHERE name = ?').run(name);
}

/** Records how far we have pulled (called inside the page's transaction). */
export function setPullCursor(db: Db, name: string, c: Cursor, remoteSite: Uint8Array): void {
  stmt(db, 'UPDATE crsync_remotes SET pull_version = ?, pull_seq = ?, remote_site = ? WHERE name = ?').run(
    c.version,
    c.seq,
    remoteSite,
    name,
  );
}

/** Records how far the remote has acknowledged our pushes. */
export function setPushCursor(db: Db, name: string, c: Cursor, remoteSite: Uint8Array): void {
  stmt(db, 'UPDATE crsync_remotes SET push_version = ?, push_seq = ?, remote_site = ? WHERE name = ?').run(
    c.version,
    c.seq,
    remoteSite,
    name,
  );
}

/** Stamps the time of a completed pull or push. */
export function touchRemote(db: Db, name: string, what: 'pull' | 'push'): void {
  stmt(db, `UPDATE crsync_remotes SET last_${what} = ? WHERE name = ?`).run(new Date().toISOString(), name);
}

/** Forgets cursors when the remote turned out to be a different replica (re-created hub). */
export function resetCursors(db: Db, name: string, remoteSite: Uint8Array): void {
  stmt(db, 'UPDATE crsync_remotes SET pull_version = ?, pull_seq = ?, push_version = ?, push_seq = ?, conflicts_pulled = 0, conflicts_reported = 0, resolutions_pulled = 0, resolutions_reported = 0, remote_site = ? WHERE name = ?').run(START.version, START.seq, START.version, START.seq, remoteSite, name);
}

/** Records the newest remote conflict id we have heard of (inside the recording transaction). */
export function setConflictsPulled(db: Db, name: string, lastId: bigint): void {
  stmt(db, 'UPDATE crsync_remotes SET conflicts_pulled = max(conflicts_pulled, ?) WHERE name = ?').run(lastId, name);
}

/** Records the newest local conflict id the remote has been told of. */
export function setConflictsReported(db: Db, name: string, lastId: bigint): void {
  stmt(db, 'UPDATE crsync_remotes SET conflicts_reported = max(conflicts_reported, ?) WHERE name = ?').run(lastId, name);
}

/** Remembers the newest remote resolution id heard of (never goes back). */
export function setResolutionsPulled(db: Db, name: string, lastId: bigint): void {
  stmt(db, 'UPDATE crsync_remotes SET resolutions_pulled = max(resolutions_pulled, ?) WHERE name = ?').run(lastId, name);
}

/** Remembers the newest local resolution id the remote has taken (never goes back). */
export function setResolutionsReported(db: Db, name: string, lastId: bigint): void {
  stmt(db, 'UPDATE crsync_remotes SET resolutions_reported = max(resolutions_reported, ?) WHERE name = ?').run(lastId, name);
}
