// Live sync: apps (bench/live-host.mjs processes, the library's openReplica + startSync + watch)
// against a real `crsync serve` on loopback. Every time is taken in this process, from the order
// to write (sent over IPC) to the watcher's message that its query saw the row (two IPC hops
// included, well under a millisecond each).
import { fork, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cli, cpuMsOf, median, peakRssMiB, root } from './lib.mjs';

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null;
};
const stats = (xs) => ({ count: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: pct(xs, 100) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);

/** `crsync serve` with its JSON request log read: `statuses` holds every answered status. */
export async function startLoggedHub(hubDir, port = 0) {
  mkdirSync(hubDir, { recursive: true });
  const prof = process.env.CRSYNC_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CRSYNC_BENCH_PROF}`] : [];
  const proc = spawn('node', [...prof, cli, 'serve', '--dir', hubDir, '--port', String(port), '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const statuses = [];
  createInterface({ input: proc.stderr }).on('line', (l) => {
    if (l.startsWith('{')) statuses.push(JSON.parse(l).status);
  });
  const url = await new Promise((res, rej) => {
    proc.once('exit', (code) => rej(new Error(`hub exited (${code}) before it listened`)));
    createInterface({ input: proc.stdout }).once('line', (l) => res(l.trim()));
  });
  proc.removeAllListeners('exit');
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    url,
    port: Number(new URL(url).port),
    pid: proc.pid,
    statuses,
    errors5xx: () => statuses.filter((s) => s >= 500).length,
    kill: () => (proc.kill('SIGKILL'), exited),
    stop: () => (proc.kill('SIGTERM'), exited),
  };
}

/** Watchers seen by this process: each one's newest max(id), its state, and promises waiting on them. */
export class Watchers {
  seen = new Map();
  state = new Map();
  waiters = [];
  hosts = [];

  async host(opts) {
    // CRSYNC_BENCH_PROF=<dir>: CPU profiles of the watcher processes (and hubs) go there.
    const prof = process.env.CRSYNC_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CRSYNC_BENCH_PROF}`] : [];
    const proc = fork(join(root, 'bench', 'live-host.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: prof });
    const replies = [];
    proc.on('message', (m) => {
      const t = performance.now();
      if (m.type === 'seen') this.seen.set(m.w, Math.max(this.seen.get(m.w) ?? 0, Number(m.n)));
      else if (m.type === 'status') this.state.set(m.w, { state: m.state, at: t });
      else replies.shift()?.(m);
      for (const w of [...this.waiters]) if (w.check(t)) this.waiters.splice(this.waiters.indexOf(w), 1);
    });
    const h = { proc, ask: (msg) => new Promise((r) => (replies.push(r), proc.send(msg))) };
    this.hosts.push(h);
    const ready = await h.ask({ type: 'setup', ...opts });
    if (ready.error) throw new Error(`live host: ${ready.error}`);
    return h;
  }

  /** Resolves with the time (performance.now()) at which `check` first held, looked at on every message. */
  until(check, ms, what) {
    return new Promise((resolve, reject) => {
      if (check()) return resolve(performance.now());
      const timer = setTimeout(() => reject(new Error(`live bench: ${what} not reached within ${ms} ms`)), ms);
      this.waiters.push({ check: (t) => check() && (clearTimeout(timer), resolve(t), true) });
    });
  }

  live(ws) {
    return ws.every((w) => this.state.get(w)?.state === 'live');
  }

  async usage() {
    return Promise.all(this.hosts.map((h) => h.ask({ type: 'usage' })));
  }

  async stop() {
    await Promise.all(this.hosts.map((h) => h.ask({ type: 'stop' })));
  }
}

/**
 * A hub and two live replicas on it, each in a process of its own: the writer (w0, which creates
 * dataset `name`) and a watcher (w1, with `watcherOpts`); `run` gets them once both are live, and
 * everything is stopped after it.
 */
async function withPair(ctx, name, watcherOpts, run) {
  const hub = await startLoggedHub(join(ctx.dir, `hub-${name}`));
  const ws = new Watchers();
  const dir = join(ctx.dir, name);
  mkdirSync(dir, { recursive: true });
  try {
    const url = `${hub.url}/${name}`;
    const writer = await ws.host({ url, dir, first: 0, count: 1, create: true });
    const watcher = await ws.host({ url, dir, first: 1, count: 1, ...watcherOpts });
    await ws.until(() => ws.live([0, 1]), 30_000, 'both live');
    return await run({ hub, ws, writer, watcher });
  } finally {
    await ws.stop().catch(() => {});
    await hub.stop();
  }
}

const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);

/**
 * live1: two processes, a writer and a watcher, each a replica live-synced with the hub. One row
 * at a time is written on the writer; the figure is the time until the watcher's query has it.
 */
export async function live1Case(ctx) {
  return withPair(ctx, 'live1', {}, async ({ hub, ws, writer }) => {
    const lat = [];
    for (let i = 1; i <= ctx.liveWrites; i++) {
      const t0 = performance.now();
      writer.proc.send({ type: 'write', w: 0, id: i });
      lat.push((await ws.until(() => ws.seen.get(1) >= i, 10_000, `row ${i} on the watcher`)) - t0);
      await sleep(10);
    }
    return { writes: lat.length, ms: stats(lat), hub5xx: hub.errors5xx() };
  });
}

/**
 * live100 (and restart): 100 watchers in 4 processes of 25 and one writer on one hub. Writes one
 * row every 300 ms; write -> visible is taken per watcher. Then, idle, the CPU of the watcher
 * processes per watcher, and the hub's RSS. Then the hub is SIGKILLed, restarted on the same port
 * after `downMs`, and the time until every watcher is live again is taken, with the 5xx answers
 * in the new hub's request log and a write that must reach all of them.
 */
export async function live100Case(ctx) {
  const n = ctx.liveWatchers;
  const hubDir = join(ctx.dir, 'hub-live100');
  let hub = await startLoggedHub(hubDir);
  const ws = new Watchers();
  const dir = join(ctx.dir, 'live100');
  mkdirSync(dir, { recursive: true });
  const all = range(1, n + 1);
  try {
    const url = `${hub.url}/live100`;
    const writer = await ws.host({ url, dir, first: 0, count: 1, create: true });
    const per = Math.ceil(n / 4);
    await Promise.all(range(0, 4).map((k) => ws.host({ url, dir, first: 1 + k * per, count: Math.max(0, Math.min(per, n - k * per)) })));
    await ws.until(() => ws.live([0, ...all]), 60_000, 'every watcher live');
    ctx.log(`  ${n} watchers live`);
    const lat = [];
    const c0 = { hub: cpuMsOf(hub.pid), hosts: await ws.usage() };
    for (let i = 1; i <= ctx.liveRounds; i++) {
      const t0 = performance.now();
      const pending = new Set(all);
      const done = ws.until(() => {
        const t = performance.now();
        for (const w of pending) {
          if (!(ws.seen.get(w) >= i)) continue;
          lat.push(t - t0);
          pending.delete(w);
        }
        return pending.size === 0;
      }, 20_000, `row ${i} on every watcher`);
      writer.proc.send({ type: 'write', w: 0, id: i });
      await done;
      await sleep(Math.max(0, 300 - (performance.now() - t0)));
    }
    const hostsNow = await ws.usage();
    // CPU per write, which the machine's load does not inflate as it does wall times.
    const cpuPerWrite = {
      hubMs: (cpuMsOf(hub.pid) - c0.hub) / ctx.liveRounds,
      watcherHostsMs: hostsNow.slice(1).reduce((a, u, k) => a + u.cpuMs - c0.hosts[k + 1].cpuMs, 0) / ctx.liveRounds,
      writerMs: (hostsNow[0].cpuMs - c0.hosts[0].cpuMs) / ctx.liveRounds,
    };
    const out = { watchers: n, writes: ctx.liveRounds, ms: stats(lat), cpuPerWrite, hub5xx: hub.errors5xx() };
    ctx.log(`  CPU per write: hub ${cpuPerWrite.hubMs.toFixed(1)} ms, watcher processes ${cpuPerWrite.watcherHostsMs.toFixed(1)} ms, writer ${cpuPerWrite.writerMs.toFixed(1)} ms`);
    ctx.log(`  write -> visible on ${n}: p50 ${out.ms.p50.toFixed(1)} ms, p99 ${out.ms.p99.toFixed(1)} ms`);

    await sleep(2000);
    const u0 = await ws.usage();
    const h0 = cpuMsOf(hub.pid);
    const t0 = performance.now();
    await sleep(ctx.liveIdleSeconds * 1000);
    const u1 = await ws.usage();
    const wall = performance.now() - t0;
    const hostCpu = u1.slice(1).reduce((a, u, k) => a + u.cpuMs - u0[k + 1].cpuMs, 0);
    out.idle = {
      seconds: wall / 1000,
      cpuPctPerWatcher: (hostCpu / n / wall) * 100,
      hubCpuPct: ((cpuMsOf(hub.pid) - h0) / wall) * 100,
      hostRssMiB: u1.slice(1).map((u) => Math.round(u.rssMiB)),
    };
    out.hubPeakRssMiB = peakRssMiB(hub.pid);
    ctx.log(`  idle: ${out.idle.cpuPctPerWatcher.toFixed(3)}% of a core per watcher; hub peak RSS ${Math.round(out.hubPeakRssMiB)} MiB`);

    // Restart: every watcher must leave live (its held pull cut), then come back by itself.
    await hub.kill();
    await ws.until(() => all.every((w) => ws.state.get(w)?.state !== 'live'), 30_000, 'every watcher noticing the hub gone');
    await sleep(ctx.liveDownMs);
    hub = await startLoggedHub(hubDir, new URL(url).port);
    const up = performance.now();
    const back = await ws.until(() => ws.live(all), 60_000, 'every watcher live again');
    const times = all.map((w) => ws.state.get(w).at - up).sort((a, b) => a - b);
    const id = ctx.liveRounds + 1;
    writer.proc.send({ type: 'write', w: 0, id });
    await ws.until(() => all.every((w) => ws.seen.get(w) >= id), 30_000, 'the write after the restart on every watcher');
    await sleep(1000);
    out.restart = {
      downMs: ctx.liveDownMs,
      allLiveMs: back - up,
      reconnectMs: { first: times[0], p50: median(times), last: times.at(-1) },
      requests: hub.statuses.length,
      hub5xx: hub.errors5xx(),
      hub503: hub.statuses.filter((s) => s === 503).length,
    };
    ctx.log(`  restart: all ${n} live ${Math.round(back - up)} ms after the hub came back; 5xx in its log: ${out.restart.hub5xx} of ${hub.statuses.length}`);
    return out;
  } finally {
    await ws.stop().catch(() => {});
    await hub.stop();
  }
}

/**
 * cycles: one watcher through `liveCycles` round trips: the writer writes row 2i+1, the watcher's
 * query sees it and writes 2i+2 at once, the writer sees that (one pull and one push of the
 * watcher per cycle). Per-cycle time and the watcher process's RSS, first vs last thousand.
 */
export async function liveCyclesCase(ctx) {
  return withPair(ctx, 'cycles', { echo: true }, async ({ hub, ws, writer, watcher }) => {
    const cycle = [];
    const rss = [];
    for (let i = 0; i < ctx.liveCycles; i++) {
      const id = 2 * i + 1;
      const t0 = performance.now();
      writer.proc.send({ type: 'write', w: 0, id });
      cycle.push((await ws.until(() => ws.seen.get(0) >= id + 1, 20_000, `the echo of row ${id}`)) - t0);
      if (i % 50 === 0) rss.push({ i, ...(await watcher.ask({ type: 'usage' })) });
      if (i % 1000 === 999) ctx.log(`  ${i + 1} cycles, median of the last thousand ${median(cycle.slice(-1000)).toFixed(1)} ms, watcher RSS ${Math.round(rss.at(-1).rssMiB)} MiB`);
    }
    const k = Math.min(1000, Math.floor(cycle.length / 2));
    const firstRss = rss.filter((r) => r.i < k);
    const lastRss = rss.filter((r) => r.i >= cycle.length - k);
    const f = { ms: median(cycle.slice(0, k)), rssMiB: mean(firstRss.map((r) => r.rssMiB)), heapMiB: mean(firstRss.map((r) => r.heapMiB)) };
    const l = { ms: median(cycle.slice(-k)), rssMiB: mean(lastRss.map((r) => r.rssMiB)), heapMiB: mean(lastRss.map((r) => r.heapMiB)) };
    return { cycles: cycle.length, window: k, first: f, last: l, timeRatio: l.ms / f.ms, rssRatio: l.rssMiB / f.rssMiB, p99: pct(cycle, 99), hub5xx: hub.errors5xx() };
  });
}
