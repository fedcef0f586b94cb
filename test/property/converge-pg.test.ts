import { convergeSuite } from './suite.js';
import { PgHubs } from './pg-hubs.js';

/*
 * The convergence scenarios on the PostgreSQL store: three `crsync serve --store` processes on
 * one database, replica i syncing with hub i % 3, so every scenario's replicas push and pull
 * through different processes. Half the scenarios have faults (a hub SIGKILLed mid-transfer and
 * restarted while the others serve on, a child pull killed, a connection cut, an abort), and
 * before the final rounds every replica syncs at once, so pushes through different processes
 * race for the dataset's lock. The oracle reads the store's own tables (pg-dataset-file.ts).
 */
convergeSuite({
  file: 'test/property/converge-pg.test.ts',
  count: 10,
  share: 0.1,
  // 2000043-2000052: among them four hub kills during a push or sync (seeds 43, 45, 51) and
  // two child pulls killed, on 3-5 replicas.
  firstSeed: 2_000_043,
  faults: 0.5,
  regressions: [],
  hubs: (dir) => new PgHubs(dir, 3),
  concurrent: true,
});
