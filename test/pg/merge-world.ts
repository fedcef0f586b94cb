import Database from 'better-sqlite3';
import { closeDb, loadExtension, type Db } from '../../src/db/store.js';
import type { Change } from '../../src/sync/protocol/types.js';
import type { SqlValue } from '../../src/values.js';

/*
 * Simulated sites for the merge differential test: real cr-sqlite replicas (in memory) editing
 * three tables — an untyped one (values of every storage class), one with a composite key, one
 * with a key only — so their change streams are what real replicas send.
 */

export const TABLES = ['c', 'p', 't'] as const;
export const PK_COLUMNS: Record<string, string[]> = { t: ['id'], c: ['k1', 'k2'], p: ['x'] };
export const COLUMNS: Record<string, string[]> = { t: ['id', 'a', 'b'], c: ['k1', 'v', 'k2'], p: ['x'] };

export const SCHEMA = `
CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, a, b);
CREATE TABLE c (k1 TEXT NOT NULL, v, k2 INTEGER NOT NULL, PRIMARY KEY (k1, k2));
CREATE TABLE p (x TEXT PRIMARY KEY NOT NULL);
SELECT crsql_as_crr('t'); SELECT crsql_as_crr('c'); SELECT crsql_as_crr('p');`;

/** Values of every class, few enough that writes often tie (integral reals stay REAL). */
const VALUES: SqlValue[] = [
  null, 0n, 1n, 9223372036854775807n, -9223372036854775808n, 9007199254740993n,
  1, 2.5, -0.5, 1e300, 9007199254740992, '', 'a', 'b', 'é', '日本', '😀', 'a\0b', 'a\0c',
  Buffer.alloc(0), Buffer.from([0]), Buffer.from([1, 2]), Buffer.from([0xff]),
];
const IDS = [1n, 2n, 3n, 4n, 5n];
const K1 = ['x', 'é', '日本'];
const K2 = [1n, -1n, 4611686018427387904n];
const P = ['k', 'é', 'a\0z', '日本'];

/** A small seeded generator (mulberry32). */
export function rng(seed: number): { next: () => number; int: (n: number) => number; pick: <T>(xs: readonly T[]) => T } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)]! };
}

export type Rng = ReturnType<typeof rng>;

const COLS = '"table", pk, cid, val, col_version, db_version, site_id, cl, seq';

/** One simulated site: a cr-sqlite replica and how far it pushed and pulled. */
export class Site {
  readonly db: Db;
  readonly id: Buffer;
  /** Local db_version its pushes have covered. */
  pushed = 0n;
  /** Its cursor in the hub's stream. */
  pulled = { version: 0n, seq: -1n };

  constructor() {
    this.db = new Database(':memory:');
    this.db.defaultSafeIntegers(true);
    loadExtension(this.db);
    this.db.exec(SCHEMA);
    this.id = this.db.prepare('SELECT crsql_site_id()').pluck().get() as Buffer;
  }

  /** One local transaction of one to three random edits: inserts, updates, deletes, re-inserts. */
  edit(r: Rng): void {
    this.db.transaction(() => {
      for (let n = 1 + r.int(3); n > 0; n--) this.editOne(r);
    })();
  }

  private editOne(r: Rng): void {
    const db = this.db;
    const what = r.int(10);
    if (what < 5) {
      const id = r.pick(IDS);
      const exists = db.prepare('SELECT 1 FROM t WHERE id = ?').get(id) !== undefined;
      if (!exists) db.prepare('INSERT INTO t (id, a, b) VALUES (?, ?, ?)').run(id, r.pick(VALUES), r.pick(VALUES));
      else if (what === 0) db.prepare('DELETE FROM t WHERE id = ?').run(id);
      else db.prepare(`UPDATE t SET ${r.pick(['a', 'b'])} = ? WHERE id = ?`).run(r.pick(VALUES), id);
    } else if (what < 8) {
      const [k1, k2] = [r.pick(K1), r.pick(K2)];
      const exists = db.prepare('SELECT 1 FROM c WHERE k1 = ? AND k2 = ?').get(k1, k2) !== undefined;
      if (!exists) db.prepare('INSERT INTO c (k1, v, k2) VALUES (?, ?, ?)').run(k1, r.pick(VALUES), k2);
      else if (what === 5) db.prepare('DELETE FROM c WHERE k1 = ? AND k2 = ?').run(k1, k2);
      else db.prepare('UPDATE c SET v = ? WHERE k1 = ? AND k2 = ?').run(r.pick(VALUES), k1, k2);
    } else {
      const x = r.pick(P);
      if (db.prepare('SELECT 1 FROM p WHERE x = ?').get(x) === undefined) db.prepare('INSERT INTO p (x) VALUES (?)').run(x);
      else db.prepare('DELETE FROM p WHERE x = ?').run(x);
    }
  }

  /** Its stream after what it pushed (relayed changes too, as a real push sends them). */
  unpushed(): Change[] {
    return this.db.prepare(`SELECT ${COLS} FROM crsql_changes WHERE db_version > ? ORDER BY db_version, seq`).raw(true).all(this.pushed) as Change[];
  }

  /** Merges pulled changes in one transaction, as a client's applier does. */
  merge(changes: Change[]): void {
    const ins = this.db.prepare(`INSERT INTO crsql_changes (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.db.transaction(() => changes.forEach((c, i) => ins.run(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], BigInt(i))))();
  }

  close(): void {
    closeDb(this.db);
  }
}

/** A deep enough copy of a page: each side may rewrite db_versions in place. */
export function copyChanges(changes: Change[]): Change[] {
  return changes.map((c) => [...c] as Change);
}

/** A change as comparable text (exact types: 1 and 1.0 differ, text and blob differ). */
export function changeKey(c: Change, withPosition = true): string {
  const v = c[3];
  const val = v === null ? 'null' : typeof v === 'bigint' ? `i${v}` : typeof v === 'number' ? `r${Object.is(v, -0) ? '-0' : v}` : typeof v === 'string' ? `t${JSON.stringify(v)}` : `b${Buffer.from(v).toString('hex')}`;
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const head = [c[0], hex(c[1]), c[2], val, c[4], hex(c[6]), c[7]].join('|');
  return withPosition ? `${c[5]}|${c[8]}|${head}` : head;
}
