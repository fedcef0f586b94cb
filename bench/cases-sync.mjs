// Benchmark cases over HTTP: push, pull, wire size, memory. Each returns plain figures.
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ITEMS_SQL, crsync, emptyReplica, median, nodeJson, seedItems, startHub } from './lib.mjs';

const perSec = (changes, ms) => (changes * 1000) / ms;

function summary(runs) {
  const ms = median(runs.map((r) => r.ms));
  const s = { medianMs: ms, changesPerSec: perSec(runs[0].changes, ms), runsMs: runs.map((r) => Math.round(r.ms)) };
  // CPU (user + sys) of the crsync worker's transfer and of the hub over the same span.
  if (runs[0].cpuMs !== undefined) s.cpuMs = median(runs.map((r) => r.cpuMs));
  if (runs[0].hubCpuMs !== undefined) s.hubCpuMs = median(runs.map((r) => r.hubCpuMs));
  return s;
}

/**
 * Case 2, push: replica A (N changes) pushes everything to a new dataset, R times, each next to
 * the baseline (the same changes streamed from A into a fresh database in one process).
 * Leaves A in sync with the last dataset (remote `origin`), which the other cases use.
 */
export async function pushCase(ctx) {
  const { dir, n, runs, log } = ctx;
  const rows = n / 4;
  const a = join(dir, 'a.db');
  seedItems(a, rows);
  const hubDir = join(dir, 'hub');
  const hub = await startHub(hubDir);
  const crs = [];
  const base = [];
  try {
    for (let i = 0; i < runs; i++) {
      const name = i === runs - 1 ? 'origin' : `push${i}`;
      crsync('-d', a, 'remote', 'add', name, `${hub.url}/items${i}`);
      const h0 = hub.cpuMs();
      crs.push(nodeJson('worker.mjs', 'push', a, name));
      crs[i].hubCpuMs = hub.cpuMs() - h0;
      log(`  push run ${i + 1}: ${Math.round(crs[i].ms)} ms (CPU: client ${Math.round(crs[i].cpuMs)} ms, hub ${Math.round(crs[i].hubCpuMs)} ms)`);
      const dst = join(dir, `push-base${i}.db`);
      emptyReplica(dst, ITEMS_SQL, ['items']);
      base.push(nodeJson('baseline.mjs', 'copy', a, dst));
      log(`  baseline run ${i + 1}: ${Math.round(base[i].ms)} ms`);
      rmSync(dst, { force: true });
      // Earlier datasets are not needed again: keep the disk small.
      if (i < runs - 1) rmSync(join(hubDir, `items${i}.db`), { force: true });
    }
  } finally {
    await hub.stop();
  }
  const c = summary(crs);
  const b = summary(base);
  ctx.state = { a, hubDir, port: hub.port, dataset: `items${runs - 1}` };
  return { changes: crs[0].changes, crsync: c, baseline: b, ratio: c.changesPerSec / b.changesPerSec, clientPeakRssMiB: Math.max(...crs.map((r) => r.maxRssMiB)) };
}

/** One pull of a whole dataset into a fresh replica; returns the worker's figures and the hub's peak RSS. */
async function pullFresh(ctx, hubDir, dataset, target) {
  const hub = await startHub(hubDir);
  try {
    crsync('-d', target, 'init');
    crsync('-d', target, 'remote', 'add', 'origin', `${hub.url}/${dataset}`);
    const h0 = hub.cpuMs();
    const r = nodeJson('worker.mjs', 'pull', target, 'origin');
    return { ...r, hubCpuMs: hub.cpuMs() - h0, hubPeakRssMiB: hub.peakRssMiB() };
  } finally {
    await hub.stop();
  }
}

/**
 * Case 1, pull: a fresh replica pulls the hub's N changes, R times, each next to the baseline
 * (the hub's file streamed into a fresh database in one process). A new hub process per run,
 * so its peak RSS is that of one pull. Also case 4 (wire size) from the same transfers, and the
 * apply-only yardstick (the same changes read into memory first, then merged in one transaction:
 * the merge's cost alone, which no transfer can beat without merging less).
 */
export async function pullCase(ctx) {
  const { dir, runs, log } = ctx;
  const { hubDir, dataset } = ctx.state;
  const crs = [];
  const base = [];
  const apply = [];
  for (let i = 0; i < runs; i++) {
    const target = join(dir, `pull${i}.db`);
    crs.push(await pullFresh(ctx, hubDir, dataset, target));
    log(`  pull run ${i + 1}: ${Math.round(crs[i].ms)} ms, client ${Math.round(crs[i].maxRssMiB)} MiB, hub ${Math.round(crs[i].hubPeakRssMiB)} MiB`);
    rmSync(target, { force: true });
    const dst = join(dir, `pull-base${i}.db`);
    emptyReplica(dst, ITEMS_SQL, ['items']);
    base.push(nodeJson('baseline.mjs', 'copy', join(hubDir, `${dataset}.db`), dst));
    log(`  baseline run ${i + 1}: ${Math.round(base[i].ms)} ms`);
    rmSync(dst, { force: true });
    emptyReplica(dst, ITEMS_SQL, ['items']);
    apply.push(nodeJson('baseline.mjs', 'apply', join(hubDir, `${dataset}.db`), dst));
    log(`  apply-only run ${i + 1}: ${Math.round(apply[i].ms)} ms`);
    rmSync(dst, { force: true });
  }
  const c = summary(crs);
  const b = summary(base);
  const ap = summary(apply);
  const json = nodeJson('baseline.mjs', 'json-size', join(hubDir, `${dataset}.db`));
  const wireBytes = median(crs.map((r) => r.bytes));
  const pull = {
    changes: crs[0].changes,
    crsync: c,
    baseline: b,
    ratio: c.changesPerSec / b.changesPerSec,
    applyOnly: ap,
    vsApplyOnly: c.changesPerSec / ap.changesPerSec,
    clientPeakRssMiB: median(crs.map((r) => r.maxRssMiB)),
    hubPeakRssMiB: median(crs.map((r) => r.hubPeakRssMiB)),
    clientRunsMiB: crs.map((r) => Math.round(r.maxRssMiB)),
    hubRunsMiB: crs.map((r) => Math.round(r.hubPeakRssMiB)),
  };
  const wire = {
    changes: crs[0].changes,
    wireBytes,
    jsonBytes: json.bytes,
    gzipJsonBytes: json.gzipBytes,
    bytesPerChange: wireBytes / crs[0].changes,
    jsonBytesPerChange: json.bytes / json.changes,
    gzipJsonBytesPerChange: json.gzipBytes / json.changes,
    ratio: wireBytes / json.bytes,
    vsGzipJson: wireBytes / json.gzipBytes,
  };
  return { pull, wire };
}

/**
 * Case 6, memory: peak RSS of client and hub while a fresh replica pulls N changes (from case 1)
 * and 4N changes (a dataset seeded for this case), each R times with a new hub per pull: medians
 * of the same number of runs on both sides. Flat means the 4N figures stay within 20%.
 */
export async function memoryCase(ctx, pull) {
  const { dir, n, runs, log } = ctx;
  const hubDir = join(dir, 'hub4');
  mkdirSync(hubDir, { recursive: true });
  const big = join(dir, 'big.db');
  log(`  seeding ${(4 * n).toLocaleString('en-US')} changes`);
  seedItems(big, n);
  copyFileSync(big, join(hubDir, 'big.db'));
  rmSync(big, { force: true });
  const datasetMiB = statSync(join(hubDir, 'big.db')).size / 2 ** 20;
  const rs = [];
  for (let i = 0; i < runs; i++) {
    const target = join(dir, `pull4n-${i}.db`);
    const r = await pullFresh(ctx, hubDir, 'big', target);
    log(`  pull of 4N, run ${i + 1}: ${Math.round(r.ms)} ms, client ${Math.round(r.maxRssMiB)} MiB, hub ${Math.round(r.hubPeakRssMiB)} MiB`);
    rmSync(target, { force: true });
    rs.push(r);
  }
  rmSync(hubDir, { recursive: true, force: true });
  const client4 = median(rs.map((r) => r.maxRssMiB));
  const hub4 = median(rs.map((r) => r.hubPeakRssMiB));
  return {
    n: { changes: pull.changes, clientPeakRssMiB: pull.clientPeakRssMiB, hubPeakRssMiB: pull.hubPeakRssMiB, clientRunsMiB: pull.clientRunsMiB, hubRunsMiB: pull.hubRunsMiB },
    n4: {
      changes: rs[0].changes,
      datasetMiB,
      ms: median(rs.map((r) => r.ms)),
      clientPeakRssMiB: client4,
      hubPeakRssMiB: hub4,
      clientRunsMiB: rs.map((r) => Math.round(r.maxRssMiB)),
      hubRunsMiB: rs.map((r) => Math.round(r.hubPeakRssMiB)),
    },
    clientGrowth: client4 / pull.clientPeakRssMiB,
    hubGrowth: hub4 / pull.hubPeakRssMiB,
  };
}
