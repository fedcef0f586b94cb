// Small operations on big and old replicas: each should cost what it does, not what the replica
// holds or how long it has lived. Every figure is a whole crsync process (spawn to exit) against
// a real `crsync serve` on loopback, timed under /usr/bin/time for its CPU time and peak RSS.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { median, runCrsync, startHub } from './lib.mjs';
import { hubDirWith, wideHubFile } from './datasets.mjs';
import { recordMerges } from './history.mjs';

const SMALL_CHANGES = 80; // 10 rows x 8 columns

const med = (rs, k = 'ms') => median(rs.map((r) => r[k]));

/**
 * A `crsync --json` sync or push whose result must have moved `sent` changes (at least) and
 * received `received`: a case that measured the wrong thing fails instead of printing a figure.
 */
async function transfer(db, op, { sent, received = 0 }) {
  const r = await runCrsync(['-d', db, '--json', op]);
  const j = JSON.parse(r.stdout);
  if (!(sent === 0 ? j.sent === 0 : j.sent >= sent) || j.received !== received) {
    throw new Error(`${op} of ${db} sent ${j.sent} and received ${j.received}, expected ${sent} and ${received}`);
  }
  return r;
}

/** One round of (a)-(d) on a fresh clone of `file`; returns each step's process figures. */
async function smallOps(ctx, file, tag, i) {
  const hubDir = hubDirWith(ctx.dir, file, 'wide');
  const hub = await startHub(hubDir);
  const db = join(ctx.dir, `bs-${tag}-${i}.db`);
  try {
    const clone = await runCrsync(['clone', `${hub.url}/wide`, db]);
    const edit = (id) => runCrsync(['-d', db, 'sql', `UPDATE wide SET b = b + 1 WHERE id = ${id}`]);
    const editA = await edit(1 + i);
    const syncA = await transfer(db, 'sync', { sent: 1 });
    const noop = await transfer(db, 'sync', { sent: 0 });
    const editC = await edit(5);
    const push = await transfer(db, 'push', { sent: 1 });
    const status = await runCrsync(['-d', db, '--json', 'status']);
    const remote = JSON.parse(status.stdout).remotes?.[0] ?? {};
    return { clone, editA, syncA, noop, editC, push, status, unpulled: remote.unpulled ?? null, note: remote.note };
  } finally {
    await hub.stop();
    rmSync(hubDir, { recursive: true, force: true });
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
  }
}

/**
 * big-small (every crsync call is a whole process; sync and push with --json, checked): (a) first edit + sync right after a clone, (b) a no-op sync, (c) a one-row edit then
 * push, (d) status with its remote count, on a clone of N changes and on a clone of 10 rows, the
 * two alternating run by run. Target: big / small <= 1.2 for each.
 */
export async function bigSmallCase(ctx) {
  const { runs, log } = ctx;
  const big = await wideHubFile(ctx, ctx.n);
  const small = await wideHubFile(ctx, SMALL_CHANGES);
  const rounds = { big: [], small: [] };
  for (let i = 0; i < runs; i++) {
    for (const [tag, f] of [['big', big], ['small', small]]) {
      const r = await smallOps(ctx, f.file, tag, i);
      rounds[tag].push(r);
      log(`  ${tag} run ${i + 1}: clone ${Math.round(r.clone.ms)} ms; (a) edit ${Math.round(r.editA.ms)} + sync ${Math.round(r.syncA.ms)} ms; (b) no-op sync ${Math.round(r.noop.ms)} ms; (c) edit ${Math.round(r.editC.ms)} + push ${Math.round(r.push.ms)} ms; (d) status ${Math.round(r.status.ms)} ms (unpulled ${r.unpulled}${r.note ? `: ${r.note}` : ''})`);
    }
  }
  const side = (rs) => ({
    cloneMs: med(rs.map((r) => r.clone)),
    a: { editMs: med(rs.map((r) => r.editA)), syncMs: med(rs.map((r) => r.syncA)), ms: median(rs.map((r) => r.editA.ms + r.syncA.ms)), syncCpuMs: med(rs.map((r) => r.syncA), 'cpuMs'), syncRssMiB: med(rs.map((r) => r.syncA), 'maxRssMiB') },
    b: { ms: med(rs.map((r) => r.noop)), cpuMs: med(rs.map((r) => r.noop), 'cpuMs'), rssMiB: med(rs.map((r) => r.noop), 'maxRssMiB') },
    c: { editMs: med(rs.map((r) => r.editC)), pushMs: med(rs.map((r) => r.push)), ms: median(rs.map((r) => r.editC.ms + r.push.ms)), pushCpuMs: med(rs.map((r) => r.push), 'cpuMs') },
    d: { ms: med(rs.map((r) => r.status)), cpuMs: med(rs.map((r) => r.status), 'cpuMs'), unpulled: rs.map((r) => r.unpulled), notes: rs.map((r) => r.note).filter(Boolean) },
    runsMs: rs.map((r) => ({ a: Math.round(r.editA.ms + r.syncA.ms), b: Math.round(r.noop.ms), c: Math.round(r.editC.ms + r.push.ms), d: Math.round(r.status.ms) })),
  });
  const b = side(rounds.big);
  const s = side(rounds.small);
  return {
    bigChanges: big.changes,
    smallChanges: small.changes,
    big: b,
    small: s,
    ratios: { a: b.a.ms / s.a.ms, b: b.b.ms / s.b.ms, c: b.c.ms / s.c.ms, d: b.d.ms / s.d.ms },
  };
}

/**
 * old-replica: a no-op `crsync sync` of a replica that carries `merges` recorded merges from its
 * hub (bench/history.mjs), against a fresh clone of the same hub, alternating. Each replica syncs
 * once untimed first, so both start settled. Time and peak RSS (GNU time's maximum resident set
 * size, from wait4) of the crsync process. Target: old / fresh <= 1.2 in both.
 */
export async function oldReplicaCase(ctx) {
  const { dir, log } = ctx;
  const merges = ctx.merges;
  const small = await wideHubFile(ctx, SMALL_CHANGES);
  const hubDir = hubDirWith(dir, small.file, 'wide');
  const hub = await startHub(hubDir);
  const fresh = join(dir, 'fresh.db');
  const old = join(dir, 'old.db');
  try {
    await runCrsync(['clone', `${hub.url}/wide`, fresh]);
    await runCrsync(['clone', `${hub.url}/wide`, old]);
    const t = performance.now();
    const h = recordMerges(old, { merges });
    log(`  recorded ${merges.toLocaleString('en-US')} merges in ${Math.round(performance.now() - t)} ms (db_version ${h.before} -> ${h.after}, ${h.rows} crsync_applied rows)`);
    const settleOld = await runCrsync(['-d', old, 'sync']);
    await runCrsync(['-d', fresh, 'sync']);
    log(`  first sync after the history: ${Math.round(settleOld.ms)} ms`);
    const reps = Math.max(ctx.runs, 5);
    const o = [];
    const f = [];
    for (let i = 0; i < reps; i++) {
      f.push(await transfer(fresh, 'sync', { sent: 0 }));
      o.push(await transfer(old, 'sync', { sent: 0 }));
      log(`  run ${i + 1}: fresh ${Math.round(f[i].ms)} ms ${Math.round(f[i].maxRssMiB)} MiB; old ${Math.round(o[i].ms)} ms ${Math.round(o[i].maxRssMiB)} MiB`);
    }
    const fig = (rs) => ({ ms: med(rs), cpuMs: med(rs, 'cpuMs'), rssMiB: med(rs, 'maxRssMiB'), runsMs: rs.map((r) => Math.round(r.ms)), runsMiB: rs.map((r) => Math.round(r.maxRssMiB)) });
    const of = fig(o);
    const ff = fig(f);
    return { merges, appliedRows: h.rows, firstSyncMs: settleOld.ms, old: of, fresh: ff, timeRatio: of.ms / ff.ms, rssRatio: of.rssMiB / ff.rssMiB };
  } finally {
    await hub.stop();
    rmSync(hubDir, { recursive: true, force: true });
  }
}
