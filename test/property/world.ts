import { join } from 'node:path';
import { addRemote, getRemote } from '../../src/db/state/remotes.js';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { dbVersion, openStore, siteId, type Store } from '../../src/db/store.js';
import { cloneReplica } from '../../src/sync/client/clone.js';
import { pullChanges, pushChanges, syncChanges, type ResolutionCounts, type SyncOptions } from '../../src/sync/client/engine.js';
import type { SqlValue } from '../../src/values.js';
import { SCHEMA, TABLES, type Birth, type EditOp, type Target, type Verb } from './scenario.js';

/*
 * The replicas of one scenario, driven in-process: edits through a long-lived connection (as an
 * app would hold one), transfers through the engine against the real hub (or a peer file).
 * Every committed local write is logged with what its writer knew, for the oracle.
 */

/** One cell (or row sentinel, cid '-1') a local transaction committed, as cr-sqlite recorded it. */
export interface WriteRecord {
  replica: number;
  /** The writer's transaction number (1, 2, ...). */
  txn: number;
  step: number;
  table: string;
  pk: Buffer;
  cid: string;
  val: SqlValue;
  colVersion: bigint;
  /** Causal length of the row at the write (odd: alive, even: deleted). */
  cl: bigint;
  /** Per replica, the newest transaction of it this writer had merged (knowledge at the write). */
  known: number[];
}

export interface Replica {
  index: number;
  path: string;
  store: Store;
  site: Buffer;
  txn: number;
  known: number[];
}

/** Fast retries: every step resumes from committed state, so retrying is always safe. */
const RETRY = { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 };

function merge(into: number[], from: number[]): void {
  for (let i = 0; i < into.length; i++) into[i] = Math.max(into[i]!, from[i]!);
}

export class World {
  /** By index; a replica born by clone has no entry until it joins (see join). */
  readonly replicas: Replica[] = [];
  readonly log: WriteRecord[] = [];
  /** What the hub's dataset has merged, per replica (same meaning as Replica.known). */
  readonly hubKnown: number[];
  private readonly hubUrls: string[];

  constructor(
    readonly dir: string,
    /** The hub, or several hubs of one store: replica i syncs with hubUrl[i % hubUrl.length]. */
    hubUrl: string | string[],
    readonly dataset: string,
    readonly births: Birth[],
    readonly pageSize: number,
  ) {
    const count = births.length;
    this.hubUrls = typeof hubUrl === 'string' ? [hubUrl] : hubUrl;
    this.hubKnown = new Array<number>(count).fill(0);
    for (let i = 0; i < count; i++) {
      if (births[i] !== 'fresh') continue;
      const path = join(dir, `r${i}.db`);
      initReplica(path);
      const store = openStore(path);
      for (const ddl of SCHEMA) store.db.exec(ddl);
      trackTables(store, Object.keys(TABLES));
      addRemote(store.db, 'origin', `${this.hubFor(i)}/${dataset}`);
      this.replicas[i] = this.replica(i, path, store);
    }
  }

  /** The hub replica `index` syncs with (and a clone is cloned from). */
  private hubFor(index: number): string {
    return this.hubUrls[index % this.hubUrls.length]!;
  }

  private replica(index: number, path: string, store: Store): Replica {
    return { index, path, store, site: siteId(store.db), txn: 0, known: new Array<number>(this.births.length).fill(0) };
  }

  /** True once replica `index` exists (always for a fresh one; after join for a clone). */
  joined(index: number): boolean {
    return this.replicas[index] !== undefined;
  }

  /**
   * A replica born by clone joins now: `crsync clone` of the hub's dataset, in-process, by
   * snapshot or by change stream as its birth says. It knows what the hub knew.
   */
  async join(index: number): Promise<Replica> {
    const birth = this.births[index]!;
    const path = join(this.dir, `r${index}.db`);
    const res = await cloneReplica(`${this.hubFor(index)}/${this.dataset}`, path, { env: {}, pageSize: this.pageSize, retry: RETRY, snapshot: birth === 'snapshot' });
    if (res.via !== birth) throw new Error(`r${index} was to be cloned by ${birth}, but came by ${res.via}`);
    const r = this.replica(index, path, openStore(path));
    this.replicas[index] = r;
    this.learn(r, 'pull', 'hub');
    return r;
  }

  /** Runs the ops as one local transaction and logs what cr-sqlite recorded for it. */
  edit(r: Replica, ops: EditOp[], step: number): void {
    const db = r.store.db;
    const before = dbVersion(db);
    db.transaction(() => {
      for (const o of ops) {
        const { pk } = TABLES[o.table];
        if (o.op === 'delete' || o.op === 'reinsert') db.prepare(`DELETE FROM ${o.table} WHERE ${pk} = ?`).run(o.key);
        if (o.op === 'delete') continue;
        const cols = Object.keys(o.values);
        const vals = cols.map((c) => o.values[c]!);
        if (o.op === 'update') {
          db.prepare(`UPDATE ${o.table} SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE ${pk} = ?`).run(...vals, o.key);
        } else {
          const head = `INTO ${o.table} (${pk}, ${cols.join(', ')}) VALUES (${new Array(cols.length + 1).fill('?').join(', ')})`;
          const sql =
            o.op === 'upsert'
              ? `INSERT ${head} ON CONFLICT(${pk}) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}`
              : `INSERT OR IGNORE ${head}`;
          db.prepare(sql).run(o.key, ...vals);
        }
      }
    })();
    this.logTransaction(r, before, step);
  }

  /**
   * Logs what cr-sqlite recorded for `r`'s last local transaction, when it wrote anything
   * (its db_version moved past `before`): every write the oracles must account for.
   */
  logTransaction(r: Replica, before: bigint, step: number): void {
    const db = r.store.db;
    const version = dbVersion(db);
    if (version === before) return;
    r.txn++;
    r.known[r.index] = r.txn;
    const rows = db
      .prepare('SELECT "table", pk, cid, val, col_version, cl FROM crsql_changes WHERE db_version = ?')
      .raw(true)
      .safeIntegers(true)
      .all(version) as [string, Buffer, string, SqlValue, bigint, bigint][];
    for (const [table, pk, cid, val, colVersion, cl] of rows) {
      this.log.push({ replica: r.index, txn: r.txn, step, table, pk, cid, val, colVersion, cl, known: [...r.known] });
    }
  }

  /** The remote name for a target, adding a file remote for a peer on first use. */
  remoteFor(r: Replica, target: Target): string {
    if (target === 'hub') return 'origin';
    const name = `peer${target}`;
    if (!getRemote(r.store.db, name)) addRemote(r.store.db, name, this.replicas[target]!.path);
    return name;
  }

  options(r: Replica, remote: string, extra: Partial<SyncOptions> = {}): SyncOptions {
    // The first transfer to the hub makes its dataset (creating is explicit since the CLI contract).
    return { dbPath: r.path, remote, env: {}, pageSize: this.pageSize, retry: RETRY, create: true, ...extra };
  }

  /** A push, pull or sync; returns what moved (changes, and resolution records). */
  async transfer(r: Replica, verb: Verb, target: Target, extra: Partial<SyncOptions> = {}): Promise<{ sent: number; received: number; resolutions: ResolutionCounts }> {
    const opts = this.options(r, this.remoteFor(r, target), extra);
    const res = verb === 'push' ? await pushChanges(opts) : verb === 'pull' ? await pullChanges(opts) : await syncChanges(opts);
    this.learn(r, verb, target);
    return { sent: res.sent, received: res.received, resolutions: res.resolutions };
  }

  /**
   * Moves knowledge as a complete transfer does. After a failed one the oracle assumes the same
   * (a prefix may have arrived): more knowledge only excuses more overwrites, never accuses.
   */
  learn(r: Replica, verb: Verb, target: Target): void {
    const other = target === 'hub' ? this.hubKnown : this.replicas[target]!.known;
    if (verb !== 'push') merge(r.known, other);
    if (verb !== 'pull') merge(other, r.known);
  }

  close(): void {
    for (const r of this.replicas) r?.store.close();
  }
}
