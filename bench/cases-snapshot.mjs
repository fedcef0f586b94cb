// Snapshot clone and first push of the 171k cities: whole crsync processes against a real hub,
// next to cr-sqlite's own streamed merge of the same changes, a file copy, and copy + gzip.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CITIES_SQL } from './cities.mjs';
import { citiesHubFile, hubDirWith, seedCities } from './datasets.mjs';
import { cli, crsync, emptyReplica, median, nodeJson, runCrsync, startHub } from './lib.mjs';

const rmDb = (p) => {
  for (const s of ['', '-wal', '-shm']) rmSync(p + s, { force: true });
};

/** A whole `crsync clone` process into a new file; its JSON result beside time, CPU and peak RSS. */
async function cloneOnce(hub, target, extra = []) {
  const h0 = hub.cpuMs();
  const r = await runCrsync(['--json', 'clone', ...extra, `${hub.url}/cities`, target]);
  const out = JSON.parse(r.stdout);
  return { ms: r.ms, cpuMs: r.cpuMs, hubCpuMs: hub.cpuMs() - h0, rssMiB: r.maxRssMiB, via: out.via, received: out.received, bytes: out.bytes };
}

/** A clone by snapshot from a hub of `file` started for it alone: the first asker makes the snapshot (cold), a second reuses it (warm). */
async function snapshotRun(dir, file, i) {
  const hubDir = hubDirWith(dir, file, 'cities');
  const hub = await startHub(hubDir);
  const targets = [join(dir, `snap-cold${i}.db`), join(dir, `snap-warm${i}.db`)];
  try {
    const cold = await cloneOnce(hub, targets[0]);
    const warm = await cloneOnce(hub, targets[1]);
    for (const c of [cold, warm]) if (c.via !== 'snapshot') throw new Error(`snapshot: the clone came by ${c.via}, not by snapshot`);
    return { cold, warm, hubRssMiB: hub.peakRssMiB(), fileBytes: statSync(targets[0]).size };
  } finally {
    await hub.stop();
    rmSync(hubDir, { recursive: true, force: true });
    for (const t of targets) rmDb(t);
  }
}

/** True when this crsync's `push` takes --no-snapshot (the first push by snapshot is in). */
function pushHasSnapshot() {
  return execFileSync('node', [cli, 'push', '--help'], { encoding: 'utf8' }).includes('--no-snapshot');
}

/** A first push of the seeded cities replica to a new dataset (whole process); the seed is copied first, untimed. */
async function firstPush(dir, seed, i, extra) {
  const hubDir = join(dir, `hub-push-${i}-${extra.length}`);
  const hub = await startHub(hubDir);
  const a = join(dir, `push${i}.db`);
  try {
    copyFileSync(seed, a);
    crsync('-d', a, 'remote', 'add', 'origin', `${hub.url}/cities`);
    const h0 = hub.cpuMs();
    // Retries: on a loaded machine one attempt of a long push can fail with exit 3; a retry resumes.
    const r = await runCrsync(['-d', a, '--json', 'push', '--create', ...extra], { env: { ...process.env, CRSYNC_RETRIES: '4' } });
    const out = JSON.parse(r.stdout);
    return { ms: r.ms, cpuMs: r.cpuMs, hubCpuMs: hub.cpuMs() - h0, rssMiB: r.maxRssMiB, hubRssMiB: hub.peakRssMiB(), sent: out.sent, bytes: out.bytes, via: out.via ?? 'changes' };
  } finally {
    await hub.stop();
    rmSync(hubDir, { recursive: true, force: true });
    rmDb(a);
  }
}

/** The yardsticks of one run: cr-sqlite's streamed merge into an empty replica (in one process), a file copy, and `gzip -6 -c` of the file. */
function yardsticks(dir, file, i) {
  const dst = join(dir, `merge${i}.db`);
  emptyReplica(dst, CITIES_SQL, ['cities']);
  const merge = nodeJson('baseline.mjs', 'copy', file, dst);
  rmDb(dst);
  const copyTo = join(dir, `copy${i}.db`);
  let t = performance.now();
  copyFileSync(file, copyTo);
  const copyMs = performance.now() - t;
  rmSync(copyTo, { force: true });
  const gz = join(dir, `copy${i}.db.gz`);
  const times = join(dir, `gzip${i}.time`);
  t = performance.now();
  execFileSync('/usr/bin/time', ['-f', '%U %S', '-o', times, 'sh', '-c', 'gzip -6 -c "$1" > "$2"', 'gzip', file, gz]);
  const gzipMs = performance.now() - t;
  const [user, sys] = readFileSync(times, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  const gzipBytes = statSync(gz).size;
  rmSync(gz, { force: true });
  rmSync(times, { force: true });
  return { mergeMs: merge.ms, mergeCpuMs: merge.cpuMs, mergeChanges: merge.changes, copyMs, gzipMs, gzipCpuMs: (user + sys) * 1000, gzipBytes };
}

/**
 * snapshot: per run, a fresh hub of the cities (N = 1,026,450 changes) serves two clones by
 * snapshot (cold: it makes the snapshot; warm: it reuses it), then the yardsticks run; a
 * change-stream clone (--no-snapshot) once for comparison; the first push of a local replica of
 * the cities to a new dataset, by snapshot and by change stream when this crsync's push knows
 * --no-snapshot, else as it is; and a cold clone of 4N (the cities four times, ids offset) for
 * memory. Targets: cold clone >= 10x faster than the merge and <= 3x copy + gzip; first push
 * >= 5x faster than the merge; wire <= gzip of the file; client peak RSS at 4N <= 1.2x at N.
 */
export async function snapshotCase(ctx) {
  const { dir, runs, log } = ctx;
  const file = await citiesHubFile(ctx);
  const file4 = await citiesHubFile(ctx, 4);
  const rs = [];
  for (let i = 0; i < runs; i++) {
    const s = await snapshotRun(dir, file, i);
    const y = yardsticks(dir, file, i);
    rs.push({ ...s, ...y });
    log(`  run ${i + 1}: snapshot clone ${Math.round(s.cold.ms)} ms cold, ${Math.round(s.warm.ms)} ms warm, ${(s.cold.bytes / 2 ** 20).toFixed(1)} MiB on the wire, ${Math.round(s.cold.rssMiB)} MiB; ` +
      `merge ${Math.round(y.mergeMs)} ms; copy ${y.copyMs.toFixed(1)} ms; gzip ${Math.round(y.gzipMs)} ms to ${(y.gzipBytes / 2 ** 20).toFixed(1)} MiB`);
  }
  const m = (f) => median(rs.map(f));
  const hubDir = hubDirWith(dir, file, 'cities');
  const hub = await startHub(hubDir);
  let stream;
  try {
    stream = await cloneOnce(hub, join(dir, 'stream.db'), ['--no-snapshot']);
  } finally {
    await hub.stop();
    rmSync(hubDir, { recursive: true, force: true });
    rmDb(join(dir, 'stream.db'));
  }
  log(`  change-stream clone (--no-snapshot, once): ${Math.round(stream.ms)} ms, ${(stream.bytes / 2 ** 20).toFixed(1)} MiB on the wire`);

  const seed = join(dir, 'push-seed.db');
  seedCities(seed);
  const both = pushHasSnapshot();
  const pushes = { snapshot: [], changes: [] };
  for (let i = 0; i < runs; i++) {
    if (both) pushes.snapshot.push(await firstPush(dir, seed, i, []));
    pushes.changes.push(await firstPush(dir, seed, i, both ? ['--no-snapshot'] : []));
    log(`  first push run ${i + 1}: ${both ? `snapshot ${Math.round(pushes.snapshot[i].ms)} ms, ` : ''}change stream ${Math.round(pushes.changes[i].ms)} ms`);
  }
  rmDb(seed);
  const pushFigures = (xs) => (xs.length === 0 ? null : { ms: median(xs.map((x) => x.ms)), cpuMs: median(xs.map((x) => x.cpuMs)), hubCpuMs: median(xs.map((x) => x.hubCpuMs)), rssMiB: median(xs.map((x) => x.rssMiB)), hubRssMiB: median(xs.map((x) => x.hubRssMiB)), bytes: xs[0].bytes, sent: xs[0].sent, via: xs[0].via, runsMs: xs.map((x) => Math.round(x.ms)) });

  const big = await snapshotRun(dir, file4, 'x4');
  log(`  4N: snapshot clone ${Math.round(big.cold.ms)} ms cold, ${Math.round(big.cold.rssMiB)} MiB (hub ${Math.round(big.hubRssMiB)} MiB)`);

  const mergeMs = m((r) => r.mergeMs);
  const cold = { ms: m((r) => r.cold.ms), cpuMs: m((r) => r.cold.cpuMs), hubCpuMs: m((r) => r.cold.hubCpuMs), rssMiB: m((r) => r.cold.rssMiB), runsMs: rs.map((r) => Math.round(r.cold.ms)) };
  const copyGzipMs = m((r) => r.gzipMs);
  // CPU seconds beside wall time: on a shared machine wall time is mostly waiting for a core.
  const cpu = { cloneClient: cold.cpuMs, cloneHub: cold.hubCpuMs, merge: m((r) => r.mergeCpuMs), gzip: m((r) => r.gzipCpuMs) };
  return {
    cpu,
    rows: 171_075,
    changes: rs[0].cold.received,
    fileBytes: statSync(file).size,
    cold,
    warmMs: m((r) => r.warm.ms),
    wireBytes: rs[0].cold.bytes,
    gzipBytes: rs[0].gzipBytes,
    mergeMs,
    copyMs: m((r) => r.copyMs),
    copyGzipMs,
    streamClone: stream,
    firstPush: { snapshot: pushFigures(pushes.snapshot), changes: pushFigures(pushes.changes) },
    memory: { n: { clientRssMiB: cold.rssMiB, hubRssMiB: m((r) => r.hubRssMiB) }, n4: { ms: big.cold.ms, clientRssMiB: big.cold.rssMiB, hubRssMiB: big.hubRssMiB, fileBytes: statSync(file4).size } },
    speedup: mergeMs / cold.ms,
    vsCopyGzip: cold.ms / copyGzipMs,
    wireVsGzip: rs[0].cold.bytes / rs[0].gzipBytes,
    clientGrowth: big.cold.rssMiB / cold.rssMiB,
  };
}
