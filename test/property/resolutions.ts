import Database from 'better-sqlite3';
import { listConflicts } from '../../src/db/conflicts/list.js';
import { resolveConflicts } from '../../src/db/conflicts/resolve.js';
import { dbVersion, type Db } from '../../src/db/store.js';
import type { Replica, World } from './world.js';
import { pairOf, type WritePair } from '../../src/db/conflicts/pair.js';

/*
 * Resolutions in the oracle. After convergence, replicas resolve their open conflicts (a seeded
 * choice per conflict); the resolution writes are logged like any other write, so the write
 * oracle still accounts for everything. First each replica resolves about half of its open
 * conflicts on its own, so a conflict is resolved by one holder (the others must hear of it),
 * by several at once (differently, often), or by none; then each replica in turn syncs and
 * resolves what is still open. Invariants after each round settles: no copy of a conflict
 * resolved anywhere stays open on any replica or the hub; after the last, nothing is open.
 */

/** Resolves every open conflict of one replica; logs the writes as one transaction. */
function resolveAll(world: World, r: Replica, seed: number, step: number, some = false): number {
  const db = r.store.db;
  // `some`: about half of them, so a conflict is resolved by one holder, several or none.
  const open = listConflicts(db).filter((c) => !some || (seed * 7 + c.id * 3 + r.index) % 2 === 0);
  if (open.length === 0) return 0;
  const before = dbVersion(db);
  resolveConflicts(db, open.map((c) => ({ id: c.id, choice: (seed + c.id + r.index) % 2 === 0 ? 'ours' : 'theirs' })));
  world.logTransaction(r, before, step);
  return open.length;
}

const key = (p: WritePair): string =>
  [p.table, p.pk.toString('hex'), p.cid, p.kind, p.aSite.toString('hex'), p.aVersion, p.bSite.toString('hex'), p.bVersion].join('|');

/** The pairs a database holds resolutions of. */
function resolvedPairs(db: Db | Database.Database): string[] {
  const rows = db.prepare('SELECT * FROM crsync_resolutions').safeIntegers(true).all() as { tbl: string; pk: Buffer; cid: string; kind: WritePair['kind']; a_site: Buffer; a_version: bigint; b_site: Buffer; b_version: bigint }[];
  return rows.map((r) => key({ table: r.tbl, pk: r.pk, cid: r.cid, kind: r.kind, aSite: r.a_site, aVersion: r.a_version, bSite: r.b_site, bVersion: r.b_version }));
}

/** The pairs of a database's open conflicts. */
function openPairs(db: Db | Database.Database): string[] {
  const rows = db.prepare('SELECT tbl, pk, cid, kind, ours_site, theirs_site, ours_col_version, theirs_col_version FROM crsync_conflicts WHERE resolved_at IS NULL').safeIntegers(true).all() as {
    tbl: string; pk: Buffer; cid: string | null; kind: WritePair['kind']; ours_site: Buffer | null; theirs_site: Buffer | null; ours_col_version: bigint | null; theirs_col_version: bigint | null;
  }[];
  return rows.map((c) => {
    const p = pairOf({ table: c.tbl, pk: c.pk, cid: c.cid, kind: c.kind, oursSite: c.ours_site, theirsSite: c.theirs_site, oursColVersion: c.ours_col_version, theirsColVersion: c.theirs_col_version });
    return p ? key(p) : `unnamed ${c.tbl}`;
  });
}

/**
 * Every database's open conflicts that a resolution made anywhere names (a resolution that did
 * not reach a copy), and its open count.
 */
function survey(world: World, hubFile: string): { where: string; stale: string[]; open: number }[] {
  const hub = new Database(hubFile, { readonly: true, fileMustExist: true });
  try {
    const dbs: [string, Db | Database.Database][] = [['hub', hub], ...world.replicas.map((r): [string, Db] => [`r${r.index}`, r.store.db])];
    const resolved = new Set(dbs.flatMap(([, db]) => resolvedPairs(db)));
    return dbs.map(([where, db]) => {
      const open = openPairs(db);
      return { where, stale: open.filter((p) => resolved.has(p)), open: open.length };
    });
  } finally {
    hub.close();
  }
}

/**
 * The resolution rounds; `settle` syncs everyone until quiet, `check` runs the row and write
 * oracles. Returns how many conflicts were resolved.
 */
export async function resolveRounds(world: World, hubFile: string, seed: number, settle: () => Promise<unknown>, check: (when: string) => void): Promise<number> {
  let resolved = 0;
  for (const r of world.replicas) resolved += resolveAll(world, r, seed, -1, true);
  if (resolved === 0) return 0;
  // settle() goes on while resolutions are sent, also those that keep the winner (no change).
  await settle();
  check('after concurrent resolutions');
  const first = survey(world, hubFile).filter((s) => s.stale.length > 0);
  if (first.length > 0) throw new Error(`resolved conflicts still open after the resolutions settled: ${JSON.stringify(first)}`);
  // What is still open (the concurrent resolutions' own conflicts, those of replicas that did
  // not hold the first ones): each replica in turn learns what the others resolved, then resolves.
  for (const r of world.replicas) {
    await world.transfer(r, 'sync', 'hub');
    const n = resolveAll(world, r, seed, -2);
    resolved += n;
    if (n > 0) await world.transfer(r, 'sync', 'hub');
  }
  await settle();
  check('after the last resolutions');
  // The hub too (seed 108: a copy reported to the hub after the write that decided its cell
  // stayed open there once every replica's copy was superseded).
  const left = survey(world, hubFile).filter((s) => s.stale.length > 0 || s.open > 0);
  if (left.length > 0) throw new Error(`conflicts still open after every replica resolved and synced: ${JSON.stringify(left)}`);
  return resolved;
}
