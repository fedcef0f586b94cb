// The history of an old replica, built cheaply. A replica that has pulled from its hub for years
// has merged millions of small transactions; crsync records them as runs (crsync_applied: the
// first and last local db_version of a run of merges from one peer with nothing in between, the
// peer's site, the remote, the change count, the time; see ChangeApplier in
// src/db/changes/apply.ts). The worst case is a local write between every two merges, so every
// merge is a run of its own: that is what this builds. Two million real pulls
// would take days, so `recordMerges` writes those rows directly, shaped as real ones, and moves
// the replica's clock to match with one real merge. When the bookkeeping changes shape, this is
// the one function to adapt: write what crsync would have written after `merges` merges.
import { closeDb, openDb } from './lib.mjs';

/**
 * Gives the replica at `dbPath` (a clone of its `remote`, which has pulled at least once) the
 * history of `merges` more merge transactions from that remote, each of `changesPerMerge` changes:
 * - `merges - 1` crsync_applied runs of one version each, every other local version after the
 *   current one (the versions between are local writes), an hour apart in `at` and ending now
 *   (the cells they wrote were overwritten since, so the clock tables hold nothing at those
 *   versions, as in a real replica);
 * - then one real merge through crsql_changes at the last of those versions (a newer clock on a
 *   cell the replica got from the remote, same value, same writer's site), so crsql_db_version()
 *   stands at the end of the history, with its own crsync_applied row.
 * As for real merges, only crsync_applied keeps them from being pushed back to the remote.
 * Returns the replica's db_version before and after.
 */
export function recordMerges(dbPath, { remote = 'origin', merges, changesPerMerge = 1 }) {
  const db = openDb(dbPath);
  try {
    const peer = db.prepare('SELECT remote_site FROM crsync_remotes WHERE name = ?').pluck().get(remote);
    if (!peer) throw new Error(`${dbPath}: remote ${remote} has no site yet (pull once first)`);
    const before = db.prepare('SELECT crsql_db_version()').pluck().safeIntegers(true).get();
    const insert = db.prepare('INSERT INTO crsync_applied (db_version, last_version, peer_site, remote, changes, at) VALUES (?, ?, ?, ?, ?, ?)');
    const record = (v, ...rest) => insert.run(v, v, ...rest);
    const now = Date.now();
    db.transaction(() => {
      for (let k = 1; k < merges; k++) {
        record(before + 2n * BigInt(k), peer, remote, changesPerMerge, new Date(now - (merges - k) * 3_600_000).toISOString());
      }
    })();
    const last = before + 2n * BigInt(merges);
    const cell = db
      .prepare('SELECT "table", pk, cid, val, col_version, cl, site_id FROM crsql_changes WHERE cid <> \'-1\' LIMIT 1')
      .raw(true)
      .safeIntegers(true)
      .get();
    if (!cell) throw new Error(`${dbPath}: no cell to merge again`);
    const [table, pk, cid, val, colVersion, cl, writer] = cell;
    db.prepare('INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)').run(
      table, pk, cid, val, colVersion + 1n, last, writer, cl,
    );
    // crsync records the version inside the merge's transaction; a builder may take two.
    const after = db.prepare('SELECT crsql_db_version()').pluck().safeIntegers(true).get();
    record(after, peer, remote, 1, new Date(now).toISOString());
    return { before, after, rows: db.prepare('SELECT count(*) FROM crsync_applied').pluck().get() };
  } finally {
    closeDb(db);
  }
}
