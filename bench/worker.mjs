// Runs one crsync operation in-process in a fresh Node process and prints its figures as one
// JSON line: time inside the process (start-up excluded, as for the baselines), the CPU time
// (user + sys) of that part, and peak RSS.
//   node bench/worker.mjs push <db> <remote> [snapshot] | pull <db> <remote> | clone <url> <db> [no-snapshot]
import { importDist } from './lib.mjs';

const { pullChanges, pushChanges } = await importDist('sync/client/engine.js', 'sync/engine.js');
const { cloneReplica } = await importDist('sync/client/clone.js', 'sync/clone.js');

const [op, a, b, how] = process.argv.slice(2);
const env = { ...process.env, CRSYNC_RETRIES: '1' };
const cpu0 = process.cpuUsage();
const started = performance.now();
let result;
// Each push run goes to a fresh dataset: it creates it, as `crsync push --create` does (by
// change stream, as the engine pushes unless asked for a snapshot).
if (op === 'push') result = await pushChanges({ dbPath: a, remote: b ?? 'origin', env, create: true, ...(how === 'snapshot' ? { snapshot: true } : {}) });
else if (op === 'pull') result = await pullChanges({ dbPath: a, remote: b ?? 'origin', env });
else if (op === 'clone') result = await cloneReplica(a, b, { env, ...(how === 'no-snapshot' ? { snapshot: false } : {}) });
else throw new Error(`unknown op ${op}`);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const changes = op === 'push' ? result.sent : result.received;
process.stdout.write(JSON.stringify({ op, ms, cpuMs: (cpu.user + cpu.system) / 1000, changes, bytes: result.bytes, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
