// Is the hub responsive while it works? Its health endpoint, sampled every ~10 ms from the bench
// process (which only waits on its children meanwhile) over one keep-alive connection.
import http from 'node:http';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cli, root, runCrsync, startHub } from './lib.mjs';
import { hubDirWith, wideHubFile } from './datasets.mjs';

const INTERVAL_MS = 10;

export function percentiles(list) {
  const s = [...list].sort((a, b) => a - b);
  const at = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0);
  const r = (x) => Math.round(x * 10) / 10;
  return { count: s.length, p50: r(at(50)), p99: r(at(99)), max: r(s.at(-1) ?? 0) };
}

function get(agent, url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** /healthz when the hub has it, else the protocol's /v1/health. */
async function healthPath(hubUrl) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return (await get(agent, `${hubUrl}/healthz`).catch(() => 0)) === 200 ? '/healthz' : '/v1/health';
  } finally {
    agent.destroy();
  }
}

/**
 * Samples `hubUrl`'s health every INTERVAL_MS (a request's latency from send to the end of its
 * answer; a failure counts as 10 s) until `stop()`, which resolves with p50/p99/max.
 */
export async function sampleHealth(hubUrl) {
  const path = await healthPath(hubUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const lat = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      try {
        await get(agent, hubUrl + path);
        lat.push(performance.now() - t);
      } catch {
        lat.push(10_000);
      }
      const wait = INTERVAL_MS - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    path,
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return { path, ...percentiles(lat) };
    },
  };
}

/**
 * health: the hub's health latency while it is idle (a yardstick), while a fresh replica clones N
 * changes (`crsync clone`), while a replica N changes behind runs `crsync status` (the hub counts
 * what it would send), and under bench/load.mjs's clients. Targets: p99 <= 50 ms, max <= 250 ms.
 */
export async function healthCase(ctx) {
  const { dir, log } = ctx;
  const big = await wideHubFile(ctx, ctx.n);
  const hubDir = hubDirWith(dir, big.file, 'wide');
  const hub = await startHub(hubDir);
  const out = { changes: big.changes };
  try {
    let s = await sampleHealth(hub.url);
    await new Promise((r) => setTimeout(r, 2000));
    out.idle = await s.stop();
    log(`  idle hub (${out.idle.path}): p50 ${out.idle.p50} p99 ${out.idle.p99} max ${out.idle.max} ms`);

    const target = join(dir, 'health-clone.db');
    s = await sampleHealth(hub.url);
    const clone = await runCrsync(['clone', `${hub.url}/wide`, target]);
    out.clone = { ...(await s.stop()), processMs: clone.ms };
    log(`  during a clone of ${big.changes.toLocaleString('en-US')} changes (${Math.round(clone.ms)} ms): p50 ${out.clone.p50} p99 ${out.clone.p99} max ${out.clone.max} ms`);
    for (const x of ['', '-wal', '-shm']) rmSync(target + x, { force: true });

    // A replica that has never pulled: the hub's count covers every change it holds.
    const behind = join(dir, 'health-behind.db');
    await runCrsync(['-d', behind, 'init']);
    await runCrsync(['-d', behind, 'remote', 'add', 'origin', `${hub.url}/wide`]);
    s = await sampleHealth(hub.url);
    const statuses = [];
    for (let i = 0; i < Math.max(3, ctx.runs); i++) {
      const st = await runCrsync(['-d', behind, '--json', 'status']);
      const r = JSON.parse(st.stdout).remotes?.[0] ?? {};
      statuses.push({ ms: Math.round(st.ms), unpulled: r.unpulled ?? null, note: r.note });
    }
    out.status = { ...(await s.stop()), statuses };
    log(`  during ${statuses.length} stale statuses (${statuses.map((x) => `${x.ms} ms, unpulled ${x.unpulled}${x.note ? ` (${x.note})` : ''}`).join('; ')}): p50 ${out.status.p50} p99 ${out.status.p99} max ${out.status.max} ms`);
  } finally {
    await hub.stop();
    rmSync(hubDir, { recursive: true, force: true });
  }

  // bench/load.mjs runs its own hub and samples it itself at the same interval.
  const args = [join(root, 'bench', 'load.mjs'), '--json', '--clients', String(ctx.loadClients), '--seconds', String(ctx.loadSeconds), '--health-interval', String(INTERVAL_MS)];
  const { stdout } = await promisify(execFile)('node', args, { env: { ...process.env, CRSYNC_BENCH_CLI: cli }, maxBuffer: 16 * 2 ** 20 }).catch((err) => {
    // load.mjs exits 1 on errors or divergence but still prints its figures.
    if (err.stdout) return err;
    throw err;
  });
  const load = JSON.parse(stdout);
  const h = load.latencyMs.health;
  out.load = { clients: load.clients, seconds: load.seconds, opsPerSec: load.opsPerSec, errors: load.errors, converged: load.converged, count: h.count, p50: h.p50, p99: h.p99, max: h.max };
  log(`  under ${load.clients} clients for ${load.seconds} s (${load.opsPerSec} ops/s, ${load.errors} errors): p50 ${h.p50} p99 ${h.p99} max ${h.max} ms`);
  return out;
}
