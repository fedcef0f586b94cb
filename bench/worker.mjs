// Runs one crsync operation in a fresh process and prints its figures as JSON, including the
// process's peak RSS (the memory bound is part of what the benchmark checks).
import { pullChanges, pushChanges } from '../dist/sync/engine.js';
import { cloneReplica } from '../dist/sync/clone.js';

const [op, ...args] = process.argv.slice(2);
const env = { ...process.env, CRSYNC_RETRIES: '1' };
const started = performance.now();
let result;
if (op === 'push') result = await pushChanges({ dbPath: args[0], remote: 'origin', env });
else if (op === 'pull') result = await pullChanges({ dbPath: args[0], remote: 'origin', env });
else if (op === 'clone') result = await cloneReplica(args[0], args[1], { env });
else throw new Error(`unknown op ${op}`);
const ms = performance.now() - started;
process.stdout.write(
  JSON.stringify({ op, ms, maxRssMB: process.resourceUsage().maxRSS / 1024, result }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n',
);
