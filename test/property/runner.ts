import { CrsyncError } from '../../src/errors.js';
import { scratchDir, spawnPull, type Hubs } from './faults.js';
import { resolveRounds } from './resolutions.js';
import { accountFor, describeWrite, phantomLosers, typed, finalState, hubLostSides, hubRows, lostSides, rowsOf } from './oracle.js';
import { firstUse, generateBirths, generateScenario, type Birth, type Scenario, type Step } from './scenario.js';
import { World, type Replica } from './world.js';

/*
 * Runs one scenario against a real hub (behind the fault proxy), then the final sync round and
 * the oracle. Throws an Error naming the seed and what broke.
 */

/** Errors a transfer may end with when a fault hit it: the network failed, not crsync. */
const RETRYABLE = new Set(['remote_unreachable', 'truncated_stream', 'remote_unavailable']);

export interface ScenarioStats {
  steps: number;
  writes: number;
  faultsFired: number;
  failedTransfers: number;
  conflicts: number;
  rounds: number;
  /** Replicas that joined by a snapshot clone, and by a change-stream clone. */
  snapshotClones: number;
  streamClones: number;
}

/** The one command that reruns a seed. */
export function reproduce(seed: number, file: string): string {
  return `CRSYNC_SEED=${seed} npx vitest run ${file}`;
}

async function runFault(world: World, hub: Hubs, r: Replica, step: Extract<Step, { kind: 'fault' }>): Promise<boolean> {
  const proxy = hub.proxyOf(r.index);
  let restarting: Promise<void> | undefined;
  if (step.fault === 'client-kill') {
    const child = spawnPull(r.path, world.pageSize);
    proxy.arm({ afterBytes: step.afterBytes, action: () => child.kill('SIGKILL') });
    const res = await child;
    const fired = !proxy.disarm();
    // Killed, done, or (the cut reached it before the signal) a clean "unreachable" exit 3.
    const clean = res.exitCode === 0 || (fired && (res.signal === 'SIGKILL' || res.exitCode === 3));
    if (!clean) throw new Error(`the child pull ended with exit ${res.exitCode} (${res.signal ?? 'no signal'}):\n${res.stdout}${res.stderr}`);
    world.learn(r, 'pull', 'hub');
    return !fired || res.exitCode === 0;
  }
  const abort = new AbortController();
  if (step.fault === 'cut') proxy.arm({ afterBytes: step.afterBytes, action: 'cut' });
  if (step.fault === 'hub-kill') proxy.arm({ afterBytes: step.afterBytes, action: () => (restarting = hub.restartOf(r.index)) });
  const onProgress = step.fault === 'abort' ? () => abort.abort() : undefined;
  try {
    await world.transfer(r, step.verb, 'hub', { signal: abort.signal, onProgress });
    return true;
  } catch (err) {
    world.learn(r, step.verb, 'hub');
    const aborted = step.fault === 'abort' && (err as Error).name === 'AbortError';
    if (!aborted && !(err instanceof CrsyncError && RETRYABLE.has(err.code))) throw err;
    return false;
  } finally {
    proxy.disarm();
    await restarting;
  }
}

/**
 * Every replica syncs with the hub, round after round, until a round in which nobody sends
 * anything, changes or resolutions (one that keeps the winner moves no change): the hub then had
 * everything before that round and everyone pulled it during it. A replica that keeps sending
 * what it already sent (an echo) never settles. Returns the rounds.
 */
async function settle(world: World): Promise<number> {
  for (let round = 1; round <= 5; round++) {
    let sent = 0;
    for (const r of world.replicas) {
      const moved = await world.transfer(r, 'sync', 'hub');
      sent += moved.sent + moved.resolutions.sent;
    }
    if (sent === 0) return round;
  }
  throw new Error('the replicas still send changes after 5 full sync rounds (echo or divergence)');
}

function expectSameRows(world: World, hubFile: string, when: string): void {
  const hub = hubRows(hubFile);
  for (const r of world.replicas) {
    const rows = rowsOf(r.store.db);
    if (rows.join('\n') !== hub.join('\n')) {
      throw new Error(`diverged ${when}: r${r.index} differs from the hub\n  r${r.index}: ${rows.join('\n      ')}\n  hub: ${hub.join('\n      ')}`);
    }
  }
}

function checkWrites(world: World, hubFile: string): number {
  const final = finalState(world.replicas[0]!.store.db);
  const lost = [hubLostSides(hubFile), ...world.replicas.map((r) => lostSides(r.store.db, `r${r.index}`))].flat();
  const sites = world.replicas.map((r) => r.site.toString('hex'));
  const vanished = world.log.filter((w) => accountFor(w, world.log, final, lost, sites) === null);
  if (vanished.length > 0) {
    throw new Error(`${vanished.length} committed write(s) vanished silently:\n  ${vanished.map(describeWrite).join('\n  ')}`);
  }
  const phantoms = phantomLosers(lost, world.log, sites);
  if (phantoms.length > 0) {
    throw new Error(`conflict records name losing writes nobody made:\n  ${phantoms.map((c) => JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).join('\n  ')}`);
  }
  return lost.length;
}

function describeStep(s: Step): string {
  if (s.kind === 'edit') {
    const ops = s.ops.map((o) => `${o.op} ${o.table}[${typed(o.key)}]` + ('values' in o ? ` ${Object.entries(o.values).map(([c, v]) => `${c}=${typed(v)}`).join(' ')}` : ''));
    return `r${s.replica} edit: ${ops.join('; ')}`;
  }
  if (s.kind === 'transfer') return `r${s.replica} ${s.verb} ${s.target === 'hub' ? 'hub' : `r${s.target} (file)`}`;
  const when = s.fault === 'abort' ? 'at its first page' : `after ${s.afterBytes} bytes`;
  return `r${s.replica} ${s.verb} hub with fault ${s.fault} ${when}`;
}

/**
 * Clones the replicas born by clone whose first step is `at` (all that are left, at the end), and
 * checks each holds what the hub held: a clone starts converged with its hub.
 */
async function joinClones(world: World, scenario: Scenario, at: number, hubFile: () => string): Promise<void> {
  for (let i = 0; i < scenario.replicas; i++) {
    if (world.joined(i) || (at < scenario.steps.length && firstUse(scenario.steps, i) !== at)) continue;
    const r = await world.join(i);
    const [mine, theirs] = [rowsOf(r.store.db), hubRows(hubFile())];
    if (mine.join('\n') !== theirs.join('\n')) throw new Error(`r${i}, cloned by ${world.births[i]}, differs from the hub it was cloned from\n  r${i}: ${mine.join('\n      ')}\n  hub: ${theirs.join('\n      ')}`);
  }
}

function describeBirths(births: Birth[]): string {
  const cloned = births.flatMap((b, i) => (b === 'fresh' ? [] : [`r${i}`]));
  return cloned.length === 0 ? 'all made fresh' : `${cloned.join(', ')} cloned by ${births.find((b) => b !== 'fresh')} when first named`;
}

/**
 * Runs one seed; resolves with figures, or rejects with the seed, the steps and what broke.
 * `clones: false` makes every replica fresh (the regression seeds, as they were found).
 */
export async function runScenario(seed: number, hub: Hubs, o: { faults: number; file: string; clones?: boolean; concurrent?: boolean }): Promise<ScenarioStats> {
  const scenario: Scenario = generateScenario(seed, o.faults);
  const born = o.clones === false ? new Array<Birth>(scenario.replicas).fill('fresh') : generateBirths(seed, scenario.replicas);
  const births = hub.snapshots === false ? born.map((b): Birth => (b === 'snapshot' ? 'changes' : b)) : born;
  const tmp = scratchDir('crsync-converge-');
  const dataset = `s${seed}`;
  // The hub's state as the oracle reads it (a file; on PostgreSQL made from the store's tables).
  const hubNow = (): string => {
    const f = hub.datasetFile(dataset);
    if (!f) throw new Error(`the hub has no dataset ${dataset}`);
    return f;
  };
  const world = new World(tmp.dir, hub.urls, dataset, births, scenario.pageSize);
  const stats: ScenarioStats = {
    steps: scenario.steps.length, writes: 0, faultsFired: 0, failedTransfers: 0, conflicts: 0, rounds: 0,
    snapshotClones: births.filter((b) => b === 'snapshot').length,
    streamClones: births.filter((b) => b === 'changes').length,
  };
  let at = -1;
  try {
    // Replica 0 creates the dataset, so the others can pull (or clone) from the first step.
    await world.transfer(world.replicas[0]!, 'push', 'hub');
    const firedBefore = hub.fired;
    for (at = 0; at < scenario.steps.length; at++) {
      const step = scenario.steps[at]!;
      await joinClones(world, scenario, at, hubNow);
      const r = world.replicas[step.replica]!;
      if (step.kind === 'edit') world.edit(r, step.ops, at);
      else if (step.kind === 'transfer') await world.transfer(r, step.verb, step.target);
      else if (!(await runFault(world, hub, r, step))) stats.failedTransfers++;
    }
    at = -1;
    stats.faultsFired = hub.fired - firedBefore;
    await joinClones(world, scenario, scenario.steps.length, hubNow);
    // Every replica syncs at once: on several hub processes, pushes race for the dataset's lock.
    if (o.concurrent) await Promise.all(world.replicas.map((r) => world.transfer(r, 'sync', 'hub')));
    stats.rounds = await settle(world);
    const hubFile = hub.datasetFile(dataset);
    if (!hubFile) throw new Error(`the hub has no dataset ${dataset}`);
    expectSameRows(world, hubFile, 'after the final sync round');
    // Converged replicas have nothing for each other: a direct peer sync changes no row, and
    // the hub sends nothing more.
    const [a, b] = [world.replicas[seed % scenario.replicas]!, world.replicas[(seed + 1) % scenario.replicas]!];
    await world.transfer(a, 'sync', b.index);
    expectSameRows(world, hubFile, 'after a peer sync of converged replicas');
    const quiet = await world.transfer(b, 'sync', 'hub');
    if (quiet.sent + quiet.received > 0) throw new Error(`r${b.index} still moves ${quiet.sent} out, ${quiet.received} in after convergence`);
    stats.conflicts = checkWrites(world, hubFile);
    // Resolutions settle everywhere, and their writes keep both oracles true. In every third
    // scenario: the rounds nearly double a scenario's time.
    if (seed % 3 === 0) {
      await resolveRounds(world, hubFile, seed, () => settle(world), (when) => {
        hub.datasetFile(dataset);
        expectSameRows(world, hubFile, when);
        checkWrites(world, hubFile);
      });
    }
    stats.writes = world.log.length;
    return stats;
  } catch (err) {
    const e = err as Error;
    const where = at >= 0 ? `at step ${at} (${describeStep(scenario.steps[at]!)})` : 'in the final check';
    const steps = scenario.steps.map((s, i) => `  ${String(i).padStart(2)} ${describeStep(s)}`).join('\n');
    throw new Error(
      `seed=${seed} failed ${where}: ${e.message}\n` +
        `reproduce: ${reproduce(seed, o.file)}\n` +
        `scenario: ${scenario.replicas} replicas (${describeBirths(births)}), page size ${scenario.pageSize}\n${steps}` +
        (e.stack && !(err instanceof CrsyncError) ? `\n${e.stack}` : ''),
      { cause: err },
    );
  } finally {
    world.close();
    tmp.cleanup();
  }
}
