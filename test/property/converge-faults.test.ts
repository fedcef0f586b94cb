import { convergeSuite } from './suite.js';

/*
 * The convergence scenarios with faults in every one (the hub SIGKILLed and restarted
 * mid-transfer, a child `crsync pull` SIGKILLed mid-stream, a connection cut after some bytes,
 * an aborted transfer). A separate file so it runs beside converge.test.ts on its own hub.
 */
convergeSuite({
  file: 'test/property/converge-faults.test.ts',
  count: 60,
  share: 0.25,
  firstSeed: 1_000_001,
  faults: 1,
  regressions: [],
});
