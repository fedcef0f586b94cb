import { afterAll, beforeAll, describe, it } from 'vitest';
import { HubControl, scratchDir, type Hubs } from './faults.js';
import { runScenario, type ScenarioStats } from './runner.js';

/** A whole number from the environment, or a clear error naming the variable. */
function whole(name: string): number {
  const text = process.env[name] ?? '';
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new Error(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** One test file's share of the convergence scenarios. */
export interface SuiteOptions {
  /** The test file, for the reproduction command. */
  file: string;
  /** Scenarios run by default (CRSYNC_SCENARIOS overrides, scaled by `share`). */
  count: number;
  /** This file's share of CRSYNC_SCENARIOS. */
  share: number;
  /** First seed (CRSYNC_SEED_START adds to it), so files run different seeds. */
  firstSeed: number;
  /** Chance that a scenario has faults (CRSYNC_FAULTS overrides). */
  faults: number;
  /** Seeds that once found a bug; they run first, every time. */
  regressions: number[];
  /** The hubs, made in the given folder (default: one hub on SQLite files). */
  hubs?: (dir: string) => Hubs;
  /** Before the final rounds, every replica syncs at once (see runScenario). */
  concurrent?: boolean;
}

/**
 * Registers the scenarios of one test file: one hub (behind the fault proxy) for the file, a
 * fresh dataset and replica folder per scenario, and a figures line at the end.
 * CRSYNC_SEED=<n> runs that seed alone.
 */
export function convergeSuite(o: SuiteOptions): void {
  const env = process.env;
  const count = env.CRSYNC_SCENARIOS ? Math.ceil(whole('CRSYNC_SCENARIOS') * o.share) : o.count;
  const start = o.firstSeed + (env.CRSYNC_SEED_START ? whole('CRSYNC_SEED_START') : 0);
  const faults = env.CRSYNC_FAULTS !== undefined ? Number(env.CRSYNC_FAULTS) : o.faults;
  if (!(faults >= 0 && faults <= 1)) throw new Error(`CRSYNC_FAULTS must be a share from 0 to 1, not ${JSON.stringify(env.CRSYNC_FAULTS)}`);
  const seeds = env.CRSYNC_SEED
    ? [whole('CRSYNC_SEED')]
    : [...o.regressions, ...Array.from({ length: count }, (_, i) => start + i).filter((s) => !o.regressions.includes(s))];

  const tmp = scratchDir('crsync-converge-hub-');
  const hub: Hubs = o.hubs ? o.hubs(tmp.path('hub')) : new HubControl(tmp.path('hub'));
  const totals = { scenarios: 0, writes: 0, conflicts: 0, faultsFired: 0, failedTransfers: 0, rounds: 0, snapshotClones: 0, streamClones: 0 };
  let started = 0;

  beforeAll(async () => {
    await hub.start();
    started = performance.now();
  });

  afterAll(async () => {
    const minutes = (performance.now() - started) / 60_000;
    if (totals.scenarios > 0) {
      console.log(
        `${o.file}: ${totals.scenarios} scenarios in ${(minutes * 60).toFixed(1)} s (${Math.round(totals.scenarios / minutes)}/min), ` +
          `${totals.writes} writes, ${totals.conflicts} conflict records, ${totals.faultsFired} faults fired ` +
          `(${totals.failedTransfers} transfers failed cleanly, ${hub.restarts} hub kills), at most ${totals.rounds} final rounds, ` +
          `${totals.snapshotClones} replicas cloned by snapshot and ${totals.streamClones} by change stream`,
      );
    }
    await hub.stop();
    tmp.cleanup();
  });

  describe('replicas converge and no committed write vanishes', () => {
    for (const seed of seeds) {
      it(`seed=${seed}`, async () => {
        // The hub keeps every dataset it served open: recycle it now and then on long runs.
        if (totals.scenarios > 0 && totals.scenarios % 200 === 0) await hub.recycle();
        // Regression seeds run as they were found: every replica made fresh.
        const s: ScenarioStats = await runScenario(seed, hub, { faults, file: o.file, clones: !o.regressions.includes(seed), concurrent: o.concurrent });
        totals.scenarios++;
        totals.writes += s.writes;
        totals.conflicts += s.conflicts;
        totals.faultsFired += s.faultsFired;
        totals.failedTransfers += s.failedTransfers;
        totals.rounds = Math.max(totals.rounds, s.rounds);
        totals.snapshotClones += s.snapshotClones;
        totals.streamClones += s.streamClones;
      });
    }
  });
}
