import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { crsync, crsyncJson, startHub, tempDir, type Hub } from '../helpers.js';
import { addRemote } from '../../src/db/state/remotes.js';
import { initReplica, trackTables } from '../../src/db/replica.js';
import { runSql } from '../../src/db/sql.js';
import { withStore } from '../../src/db/store.js';
import { cloneReplica } from '../../src/sync/client/clone.js';
import { pushChanges } from '../../src/sync/client/engine.js';

/** Runs the CLI and fails the test (showing stderr) unless it exits 0. */
export async function ok(args: string[]): Promise<string> {
  const r = await crsync(args);
  expect(r.exitCode, `crsync ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

export const sql = (db: string, text: string): Promise<string> => ok(['-d', db, 'sql', text]);

export async function sync(db: string): Promise<{ sent: number; received: number; conflicts: number }> {
  const r = await crsyncJson<{ sent: number; received: number; conflicts: number }>(['-d', db, 'sync']);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json;
}

/** A conflict as `crsync conflicts --json` prints it. */
export interface ConflictJson {
  id: number;
  table: string;
  pk: Record<string, unknown>;
  column: string | null;
  kind: string;
  ours: unknown;
  theirs: unknown;
  winner: string;
  remote: string | null;
  detectedAt: string;
  resolved: boolean;
  resolution: string | null;
}

export async function conflicts(db: string, all = false): Promise<ConflictJson[]> {
  const r = await crsyncJson<ConflictJson[]>(['-d', db, 'conflicts', ...(all ? ['--all'] : [])]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json;
}

/** Rows of a table read straight from the file (the hub's too, while it runs). */
export function rows(file: string, query = 'SELECT id, name, qty FROM items ORDER BY id'): unknown[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(query).all();
  } finally {
    db.close();
  }
}

/** Every conflict row a file holds, open or not (to see that nothing new was recorded). */
export function conflictRows(file: string): { id: number; cid: string | null; kind: string; resolution: string | null }[] {
  return rows(file, 'SELECT id, cid, kind, resolution FROM crsync_conflicts ORDER BY id') as {
    id: number;
    cid: string | null;
    kind: string;
    resolution: string | null;
  }[];
}

/**
 * Replica a.db with items(id, name, qty) rows 1..n ('item<i>', i), pushed to `<hub>/<dataset>`,
 * and b.db cloned from it: two replicas that have seen the same state. Built in-process through
 * the core functions (against the real hub) to keep the CLI runs for the behaviour under test.
 */
export async function twoReplicas(
  path: (name: string) => string,
  hub: { url: string; dir: string },
  dataset: string,
  n = 3,
): Promise<{ a: string; b: string; hub: string }> {
  const a = path('a.db');
  const b = path('b.db');
  const url = `${hub.url}/${dataset}`;
  const values = Array.from({ length: n }, (_, i) => `(${i + 1}, 'item${i + 1}', ${i + 1})`).join(', ');
  initReplica(a);
  withStore(a, {}, (s) => {
    runSql(s.db, `CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER); INSERT INTO items VALUES ${values}`);
    trackTables(s, ['items']);
    addRemote(s.db, 'origin', url);
  });
  await pushChanges({ dbPath: a, remote: 'origin', env: {}, create: true });
  await cloneReplica(url, b, { env: {} });
  return { a, b, hub: join(hub.dir, `${dataset}.db`) };
}

/**
 * One hub for a test file, started before its tests and stopped after them; `replicas` gives
 * each test its own folder and dataset on it, so tests share no data.
 */
export function hubForFile(): { hub: () => Hub; replicas: (dataset: string, n?: number) => Promise<{ a: string; b: string; hub: string }> } {
  const root = tempDir();
  const hubDir = root.path('hub');
  const dirs: ReturnType<typeof tempDir>[] = [];
  let hub: Hub | undefined;
  beforeAll(async () => {
    hub = await startHub(hubDir);
  });
  afterAll(async () => {
    await hub?.stop();
    for (const d of dirs) d.cleanup();
    root.cleanup();
  });
  return {
    hub: () => hub!,
    replicas: (dataset, n) => {
      const d = tempDir();
      dirs.push(d);
      return twoReplicas(d.path, { url: hub!.url, dir: hubDir }, dataset, n);
    },
  };
}
