import type { SqlValue } from '../../src/values.js';

/*
 * Seeded scenario generator for the convergence property test. A scenario is plain data built
 * from one seed, so a failing seed reproduces the same replicas, edits, transfers and faults.
 */

/** mulberry32: a small, fast, seedable PRNG (32-bit state). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random helpers over one PRNG. */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The replicated tables every replica starts with: every SQLite storage class, small key spaces. */
export const SCHEMA = [
  'CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, i INTEGER, r REAL, s TEXT, b BLOB)',
  'CREATE TABLE kv (k TEXT PRIMARY KEY NOT NULL, v)',
];
export const TABLES = { t: { pk: 'id', cols: ['i', 'r', 's', 'b'] }, kv: { pk: 'k', cols: ['v'] } } as const;
export type TableName = keyof typeof TABLES;
/** Few keys, so edits on different replicas collide. */
export const KEYS: { t: bigint[]; kv: string[] } = { t: [1n, 2n, 3n, 4n], kv: ['a', 'b', 'c'] };

const INTS = [0n, 1n, -1n, 42n, 9223372036854775807n, -9223372036854775808n];
const REALS = [0.5, -2.25, 3, 1e300, -1e-300, 0.1];
const TEXTS = ['', 'a', 'b', 'héllo', '日本', '1', 'x'.repeat(40)];
const BLOBS = ['', '00', 'ff00', 'deadbeef'];

function valueOf(rng: Rng, kind: 'i' | 'r' | 's' | 'b' | 'v'): SqlValue {
  if (rng.chance(0.15)) return null;
  const k = kind === 'v' ? rng.pick(['i', 'r', 's', 'b', 'inf'] as const) : kind;
  switch (k) {
    case 'i':
      return rng.chance(0.7) ? rng.pick(INTS) : BigInt(rng.int(-1000, 1000));
    case 'r':
      return rng.chance(0.7) ? rng.pick(REALS) : rng.int(-1000, 1000) / 8;
    case 's':
      return rng.chance(0.8) ? rng.pick(TEXTS) : `s${rng.int(0, 99)}`;
    case 'b':
      return Buffer.from(rng.pick(BLOBS), 'hex');
    case 'inf':
      return rng.pick([Infinity, -Infinity, 2.5]);
  }
}

/** One statement of a local transaction. */
export type EditOp =
  | { op: 'insert' | 'upsert' | 'update' | 'reinsert'; table: TableName; key: bigint | string; values: Record<string, SqlValue> }
  | { op: 'delete'; table: TableName; key: bigint | string };

export type Verb = 'push' | 'pull' | 'sync';
/** Where a transfer goes: the hub, or another replica's file (direct peer sync). */
export type Target = 'hub' | number;
export type FaultKind = 'cut' | 'hub-kill' | 'client-kill' | 'abort';

export type Step =
  | { kind: 'edit'; replica: number; ops: EditOp[] }
  | { kind: 'transfer'; replica: number; verb: Verb; target: Target }
  | { kind: 'fault'; replica: number; verb: Verb; fault: FaultKind; afterBytes: number };

export interface Scenario {
  seed: number;
  replicas: number;
  pageSize: number;
  steps: Step[];
}

function editOp(rng: Rng): EditOp {
  const table: TableName = rng.chance(0.6) ? 't' : 'kv';
  const key = rng.pick<bigint | string>(KEYS[table]);
  const op = rng.pick(['insert', 'insert', 'upsert', 'update', 'update', 'update', 'delete', 'reinsert'] as const);
  if (op === 'delete') return { op, table, key };
  const cols = TABLES[table].cols;
  const chosen = op === 'update' || op === 'upsert' ? cols.filter(() => rng.chance(0.5)) : [...cols];
  if (chosen.length === 0) chosen.push(rng.pick(cols));
  const values: Record<string, SqlValue> = {};
  for (const c of chosen) values[c] = valueOf(rng, table === 'kv' ? 'v' : (c as 'i' | 'r' | 's' | 'b'));
  return { op, table, key, values };
}

/**
 * Builds the scenario of one seed. `faults` is the chance that the scenario has faults at all
 * (they cost real processes, so only some scenarios get them).
 */
export function generateScenario(seed: number, faults = 0.2): Scenario {
  const rng = new Rng(seed);
  const replicas = rng.int(3, 5);
  const pageSize = rng.pick([1, 2, 3, 5, 8, 50]);
  const withFaults = rng.chance(faults);
  const steps: Step[] = [];
  const count = rng.int(12, 28);
  for (let i = 0; i < count; i++) {
    const replica = rng.int(0, replicas - 1);
    const roll = rng.float();
    if (roll < 0.45) {
      const ops: EditOp[] = [];
      const n = rng.chance(0.7) ? 1 : rng.int(2, 4);
      for (let j = 0; j < n; j++) ops.push(editOp(rng));
      steps.push({ kind: 'edit', replica, ops });
    } else if (withFaults && roll > 0.9) {
      const fault = rng.pick(['cut', 'cut', 'hub-kill', 'client-kill', 'abort'] as const);
      steps.push({ kind: 'fault', replica, verb: fault === 'client-kill' ? 'pull' : rng.pick(['push', 'pull', 'sync'] as const), fault, afterBytes: rng.int(0, 1500) });
    } else {
      let target: Target = 'hub';
      if (rng.chance(0.3)) {
        const other = rng.int(0, replicas - 2);
        target = other >= replica ? other + 1 : other;
      }
      steps.push({ kind: 'transfer', replica, verb: rng.pick(['push', 'pull', 'sync', 'sync'] as const), target });
    }
  }
  return { seed, replicas, pageSize, steps };
}

/** How a replica comes to be: made empty here, or cloned from the hub by snapshot or by change stream (`--no-snapshot`). */
export type Birth = 'fresh' | 'snapshot' | 'changes';

/**
 * The births of a scenario's replicas, drawn from a PRNG of their own so that every seed keeps
 * the steps it always had. Replica 0 is always fresh (it creates the dataset). In a third of the
 * scenarios the others are fresh too; in the rest each of them (at least one) is cloned from the
 * hub when a step first names it, all by snapshot or all by change stream, a third each.
 */
export function generateBirths(seed: number, replicas: number): Birth[] {
  const rng = new Rng((seed ^ 0x5eed_c10e) >>> 0);
  const births: Birth[] = new Array<Birth>(replicas).fill('fresh');
  const how = rng.pick<Birth>(['fresh', 'snapshot', 'changes']);
  if (how === 'fresh') return births;
  for (let i = 1; i < replicas; i++) if (rng.chance(0.5)) births[i] = how;
  if (!births.includes(how)) births[replicas - 1] = how;
  return births;
}

/** The step at which replica `index` is first named, as actor or as a peer target (steps.length if never). */
export function firstUse(steps: Step[], index: number): number {
  const at = steps.findIndex((s) => s.replica === index || (s.kind === 'transfer' && s.target === index));
  return at === -1 ? steps.length : at;
}
