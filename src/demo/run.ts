import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CrsyncError } from '../errors.js';
import { listConflicts, type ConflictView } from '../db/conflicts/list.js';
import { addRemote } from '../db/state/remotes.js';
import { initReplica, trackTables } from '../db/replica.js';
import { resolveConflicts, type ResolveResult } from '../db/conflicts/resolve.js';
import { runSql } from '../db/sql.js';
import { withStore } from '../db/store.js';
import { cloneReplica, type CloneResult } from '../sync/client/clone.js';
import { pushChanges, syncChanges, type PushResult, type SyncResult } from '../sync/client/engine.js';
import { startServer } from '../server/hub.js';
import { replicaStatus, type StatusResult } from '../sync/client/status.js';
import { stringifyRow, type SqlValue } from '../values.js';
import { COUNTRY_ROWS, CREATE_COUNTRIES, ICELAND, insertCountries } from './countries.js';

/** What one demo step produced, by kind (the renderer shows each as its command would). */
export type DemoOutcome =
  | { kind: 'hub'; url: string; dir: string }
  | { kind: 'rows'; replica: string; columns: string[]; rows: SqlValue[][] }
  | { kind: 'push'; replica: string; result: PushResult }
  | { kind: 'clone'; result: CloneResult }
  | { kind: 'edits'; edits: { replica: string; sql: string; changed: number }[] }
  | { kind: 'sync'; results: { replica: string; result: SyncResult }[] }
  | { kind: 'status'; replica: string; result: StatusResult }
  | { kind: 'conflicts'; replica: string; result: ConflictView[] }
  | { kind: 'resolve'; replica: string; result: ResolveResult }
  | { kind: 'converged'; columns: string[]; alice: SqlValue[][]; bob: SqlValue[][]; rows: number; same: boolean };

/** One numbered step: what happens, the commands a user would type for it, and what came out. */
export interface DemoStep {
  n: number;
  title: string;
  explain: string;
  commands: string[];
  outcome: DemoOutcome;
}

/** Options of `crsync demo`. */
export interface DemoOptions {
  /** Folder to work in (created; must be empty). Default: a new temporary folder. */
  dir?: string;
  /** Keep the folder afterwards (a folder given with `dir` is always kept). */
  keep?: boolean;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onStep?: (step: DemoStep) => void;
}

/** Result of `crsync demo`. */
export interface DemoResult {
  dir: string;
  kept: boolean;
  hub: string;
  converged: boolean;
  steps: DemoStep[];
}

const CONFLICT_CAPITAL = 'Sucre (constitutional); La Paz (seat of government)';

function workDir(dir: string | undefined): string {
  if (dir === undefined) return mkdtempSync(join(tmpdir(), 'crsync-demo-'));
  const path = resolve(dir);
  if (existsSync(path) && !statSync(path).isDirectory()) throw new CrsyncError('not_a_folder', `${path} is not a folder`, { hint: 'give the demo a new or empty folder with --dir' });
  if (existsSync(path) && readdirSync(path).length > 0) {
    throw new CrsyncError('dir_not_empty', `${path} is not empty`, { hint: 'give the demo a new or empty folder with --dir' });
  }
  mkdirSync(path, { recursive: true });
  return path;
}

function sql(db: string, text: string): { changed: number; columns: string[]; rows: SqlValue[][] } {
  return withStore(db, {}, (s) => {
    const r = runSql(s.db, text);
    return { changed: r.changes, columns: r.result?.columns ?? [], rows: r.result?.rows ?? [] };
  });
}

/**
 * The main job of crsync in one run, on a small real dataset: a hub, two replicas, offline edits
 * on both with one cell edited on each, sync, the conflict shown and overturned, sync again,
 * and both replicas (and the hub) holding the same rows. Calls the core functions directly.
 */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const dir = workDir(opts.dir);
  const kept = opts.keep === true || opts.dir !== undefined;
  const steps: DemoStep[] = [];
  const step = (title: string, explain: string, commands: string[], outcome: DemoOutcome): void => {
    const s: DemoStep = { n: steps.length + 1, title, explain, commands, outcome };
    steps.push(s);
    opts.onStep?.(s);
  };
  const alice = join(dir, 'alice.db');
  const bob = join(dir, 'bob.db');
  const sync = { env: opts.env, signal: opts.signal };
  const hub = await startServer({ dir: join(dir, 'hub'), host: '127.0.0.1', port: 0 });
  try {
    const url = `${hub.url}/countries`;
    step('Start a hub', 'A hub stores one replica per dataset and relays changes between replicas.', [`crsync serve --dir hub --port 0`], { kind: 'hub', url: hub.url, dir });

    initReplica(alice);
    const made = withStore(alice, {}, (s) => {
      runSql(s.db, `${CREATE_COUNTRIES}; ${insertCountries(COUNTRY_ROWS)}`);
      trackTables(s, ['countries']);
      addRemote(s.db, 'origin', url);
      return runSql(s.db, 'SELECT code, name, capital, region FROM countries ORDER BY code').result!;
    });
    step(
      "Create alice's replica",
      `alice.db gets ${COUNTRY_ROWS.length} countries (from the world-countries dataset); \`track\` makes the table replicated (a cr-sqlite CRR).`,
      ['crsync -d alice.db init', `crsync -d alice.db sql "CREATE TABLE countries (code TEXT PRIMARY KEY NOT NULL, ...); INSERT ..."`, 'crsync -d alice.db track countries'],
      { kind: 'rows', replica: 'alice', columns: made.columns, rows: made.rows },
    );

    const pushed = await pushChanges({ ...sync, dbPath: alice, remote: 'origin', create: true });
    step('Publish it to the hub', 'push --create makes the dataset on the hub (a plain push to a missing dataset fails).', [`crsync -d alice.db remote add origin ${url}`, 'crsync -d alice.db push --create'], { kind: 'push', replica: 'alice', result: pushed });

    const cloned = await cloneReplica(url, bob, sync);
    step("Clone it as bob's replica", 'A clone is a new replica with its own site id, the same schema and all the rows.', [`crsync clone ${url} bob.db`], { kind: 'clone', result: cloned });

    const edits = [
      { replica: 'alice', sql: "UPDATE countries SET capital = 'La Paz' WHERE code = 'BOL'; UPDATE countries SET name = 'Aotearoa New Zealand' WHERE code = 'NZL'" },
      { replica: 'bob', sql: `UPDATE countries SET capital = 'Sucre (constitutional)' WHERE code = 'BOL'; ${insertCountries([ICELAND])}` },
    ].map((e) => ({ ...e, changed: sql(e.replica === 'alice' ? alice : bob, e.sql).changed }));
    step(
      'Edit both replicas offline',
      "Both change Bolivia's capital, each without seeing the other's edit: that cell is a conflict. alice also renames New Zealand; bob adds Iceland.",
      edits.map((e) => `crsync -d ${e.replica}.db sql "${e.sql}"`),
      { kind: 'edits', edits },
    );

    const first = await syncChanges({ ...sync, dbPath: alice, remote: 'origin' });
    const second = await syncChanges({ ...sync, dbPath: bob, remote: 'origin' });
    const third = await syncChanges({ ...sync, dbPath: alice, remote: 'origin' });
    step(
      'Sync: alice, then bob, then alice again',
      'Each sync pulls, then pushes. cr-sqlite merges every change; for the cell both edited it picks the same winner everywhere, and crsync records the value that lost as a conflict.',
      ['crsync -d alice.db sync', 'crsync -d bob.db sync', 'crsync -d alice.db sync'],
      { kind: 'sync', results: [{ replica: 'alice', result: first }, { replica: 'bob', result: second }, { replica: 'alice', result: third }] },
    );

    const status = await replicaStatus({ dbPath: alice, env: opts.env });
    step("alice's status", 'Nothing left to push or pull, but one open conflict.', ['crsync -d alice.db status'], { kind: 'status', replica: 'alice', result: status });

    const open = withStore(alice, {}, (s) => listConflicts(s.db));
    step('The conflict', "Both values are kept: alice's (ours, here) lost to bob's (theirs).", ['crsync -d alice.db conflicts'], { kind: 'conflicts', replica: 'alice', result: open });
    if (open.length !== 1) throw new CrsyncError('demo_failed', `expected one conflict on alice, found ${open.length}`);

    const resolved = withStore(alice, {}, (s) => resolveConflicts(s.db, [{ id: open[0]!.id, choice: 'value', value: CONFLICT_CAPITAL }]));
    step(
      'Resolve it',
      'alice keeps both facts in one value. A value that is not the current one is written as a new local change, so it wins everywhere after the next sync.',
      [`crsync -d alice.db resolve ${open[0]!.id} --value '"${CONFLICT_CAPITAL}"'`],
      { kind: 'resolve', replica: 'alice', result: resolved },
    );

    const after = [
      { replica: 'alice', result: await syncChanges({ ...sync, dbPath: alice, remote: 'origin' }) },
      { replica: 'bob', result: await syncChanges({ ...sync, dbPath: bob, remote: 'origin' }) },
    ];
    step('Sync again', "The resolution travels like any edit; bob's copy of the conflict is closed by it (superseded).", ['crsync -d alice.db sync', 'crsync -d bob.db sync'], { kind: 'sync', results: after });

    step('Converged', 'Both replicas hold the same rows, and neither has anything to sync or resolve.', ['crsync -d alice.db status', 'crsync -d bob.db status'], await converged(alice, bob, join(dir, 'hub', 'countries.db'), opts.env));
    const last = steps[steps.length - 1]!.outcome;
    return { dir, kept, hub: hub.url, converged: last.kind === 'converged' && last.same, steps };
  } finally {
    await hub.close();
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

async function converged(alice: string, bob: string, hubFile: string, env: NodeJS.ProcessEnv): Promise<DemoOutcome> {
  const all = 'SELECT * FROM countries ORDER BY code';
  const [a, b, h] = [alice, bob, hubFile].map((f) => sql(f, all));
  const text = (r: { columns: string[]; rows: SqlValue[][] }): string =>
    r.rows.map((row) => stringifyRow(Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null])))).join('\n');
  const statuses = await Promise.all([alice, bob].map((dbPath) => replicaStatus({ dbPath, env })));
  const same = text(a!) === text(b!) && text(a!) === text(h!) && statuses.every((s) => s.inSync);
  if (!same) throw new CrsyncError('demo_failed', 'the replicas did not converge', { hint: 'please report this with the output of `crsync demo --keep`' });
  const changed = "SELECT code, name, capital FROM countries WHERE code IN ('BOL', 'NZL', 'ISL') ORDER BY code";
  return { kind: 'converged', columns: ['code', 'name', 'capital'], alice: sql(alice, changed).rows, bob: sql(bob, changed).rows, rows: a!.rows.length, same };
}
