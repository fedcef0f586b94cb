import { ensureTxlogTriggers } from './txlog.js';
import { CrsyncError, UsageError } from '../errors.js';
import { openStore, quoteIdent, siteId, type Db, type Store } from './store.js';
import { isReplicated, listReplicatedTables, tableExists, trackProblems } from './schema/read.js';
import { setMeta, getMeta } from './state/bookkeeping.js';

/** Result of `crsync init`. */
export interface InitResult {
  db: string;
  siteId: string;
  created: boolean;
}

/** Creates a replica (or adds crsync's bookkeeping to an existing SQLite file). Idempotent. */
export function initReplica(dbPath: string): InitResult {
  const store = openStore(dbPath, { create: true });
  try {
    const created = store.created || getMeta(store.db, 'initialized_at') === undefined;
    if (getMeta(store.db, 'initialized_at') === undefined) setMeta(store.db, 'initialized_at', new Date().toISOString());
    return { db: store.path, siteId: siteId(store.db).toString('hex'), created };
  } finally {
    store.close();
  }
}

/** A replicated table and its row count. */
export interface TableInfo {
  name: string;
  rows: number;
}

/** Replicated tables with row counts. */
export function replicatedTableInfo(db: Db): TableInfo[] {
  return listReplicatedTables(db).map((name) => ({
    name,
    rows: Number(db.prepare(`SELECT count(*) FROM ${quoteIdent(name)}`).pluck().get()),
  }));
}

/** Result of `crsync track`. */
export interface TrackResult {
  db: string;
  tracked: string[];
  alreadyTracked: string[];
}

/** Makes existing tables replicated, checking cr-sqlite's rules first; all or nothing. */
export function trackTables(store: Store, tables: string[]): TrackResult {
  const { db } = store;
  const tracked: string[] = [];
  const alreadyTracked: string[] = [];
  const problems: string[] = [];
  for (const t of tables) {
    if (!tableExists(db, t)) {
      throw new CrsyncError('no_such_table', `no table named ${t} in ${store.path}`, {
        hint: 'create it first (crsync sql "CREATE TABLE ..."), or import a file with --create',
      });
    }
    if (t.startsWith('crsync_') || t.includes('__crsql_') || t.startsWith('crsql_')) {
      throw new UsageError(`${t} is an internal table and cannot be replicated`);
    }
    if (isReplicated(db, t)) alreadyTracked.push(t);
    else problems.push(...trackProblems(db, t));
  }
  if (problems.length > 0) {
    throw new CrsyncError('not_trackable', `cannot replicate: ${problems.join('; ')}`, {
      hint: 'cr-sqlite needs a NOT NULL primary key, no other unique indexes, no foreign keys, and defaults on NOT NULL columns',
      details: { problems },
    });
  }
  db.transaction(() => {
    for (const t of tables) {
      if (alreadyTracked.includes(t)) continue;
      try {
        db.prepare('SELECT crsql_as_crr(?)').run(t);
      } catch (err) {
        throw new CrsyncError('not_trackable', `cannot replicate ${t}: ${(err as Error).message}`, {
          hint: 'nothing was changed; fix the table and run track again',
          cause: err,
        });
      }
      tracked.push(t);
    }
    ensureTxlogTriggers(db);
  })();
  return { db: store.path, tracked, alreadyTracked };
}
