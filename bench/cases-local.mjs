// Benchmark cases: clone of a real dataset, no-op and small syncs, import, migration.
import { copyFileSync, createWriteStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { citiesReplica } from './cities.mjs';
import { cli, closeDb, crsync, emptyReplica, ITEMS_SQL, itemRow, median, nodeJson, openDb, startHub, wallMs } from './lib.mjs';

/**
 * Case 3, clone of the cities dataset (171k rows, 7 columns) from a hub, against inserting the
 * same rows into a plain SQLite table in one process and against copying the hub's file.
 */
export async function cloneCase(ctx) {
  const { dir, runs, log } = ctx;
  const src = join(dir, 'cities.db');
  const rows = citiesReplica(src);
  const hubDir = join(dir, 'hub-cities');
  const hub = await startHub(hubDir);
  const clone = [];
  const plain = [];
  const copy = [];
  try {
    crsync('-d', src, 'remote', 'add', 'origin', `${hub.url}/cities`);
    crsync('-d', src, 'push', '--create');
    const hubFile = join(hubDir, 'cities.db');
    for (let i = 0; i < runs; i++) {
      const target = join(dir, `clone${i}.db`);
      const h0 = hub.cpuMs();
      clone.push(nodeJson('worker.mjs', 'clone', `${hub.url}/cities`, target));
      clone[i].hubCpuMs = hub.cpuMs() - h0;
      rmSync(target, { force: true });
      const p = join(dir, `plain${i}.db`);
      plain.push(nodeJson('baseline.mjs', 'plain-cities', p));
      rmSync(p, { force: true });
      const t = performance.now();
      copyFileSync(hubFile, join(dir, `copy${i}.db`));
      copy.push(performance.now() - t);
      rmSync(join(dir, `copy${i}.db`), { force: true });
      log(`  clone run ${i + 1}: ${Math.round(clone[i].ms)} ms; plain insert ${Math.round(plain[i].ms)} ms; file copy ${copy[i].toFixed(1)} ms`);
    }
    const cloneMs = median(clone.map((r) => r.ms));
    const plainMs = median(plain.map((r) => r.ms));
    const copyMs = median(copy);
    return {
      rows,
      changes: clone[0].changes,
      fileMiB: statSync(hubFile).size / 2 ** 20,
      cloneMs,
      cpuMs: median(clone.map((r) => r.cpuMs)),
      hubCpuMs: median(clone.map((r) => r.hubCpuMs)),
      plainInsertMs: plainMs,
      fileCopyMs: copyMs,
      vsPlainInsert: cloneMs / plainMs,
      vsFileCopy: cloneMs / copyMs,
    };
  } finally {
    await hub.stop();
  }
}

/**
 * Case 5, whole-process times of `crsync sync` on replica A (N changes, in sync with its hub):
 * with nothing to do, and after 1,000 rows changed, each next to a bare `node -e ""` start.
 */
export async function smallSyncCase(ctx) {
  const { runs, log } = ctx;
  const { a, hubDir } = ctx.state;
  // The same port as the push case's hub, so A's remote `origin` still points at it.
  const hub = await startHub(hubDir, ctx.state.port);
  const env = { ...process.env, CRSYNC_RETRIES: '1' };
  const reps = Math.max(runs, 5);
  try {
    crsync('-d', a, 'sync');
    const node = [];
    const noop = [];
    const small = [];
    const nodeSmall = [];
    const edit = openDb(a);
    const bump = edit.prepare('UPDATE items SET qty = qty + 1 WHERE id >= ? AND id < ?');
    for (let i = 0; i < reps; i++) {
      node.push(wallMs('node', ['-e', '']));
      noop.push(wallMs('node', [cli, '-d', a, 'sync'], env));
      bump.run(i * 1000, i * 1000 + 1000);
      nodeSmall.push(wallMs('node', ['-e', '']));
      small.push(wallMs('node', [cli, '-d', a, 'sync'], env));
    }
    closeDb(edit);
    const nodeMs = median([...node, ...nodeSmall]);
    const noopMs = median(noop);
    const smallMs = median(small);
    log(`  node ${Math.round(nodeMs)} ms, no-op sync ${Math.round(noopMs)} ms, 1,000-row sync ${Math.round(smallMs)} ms`);
    return { nodeStartMs: nodeMs, noopSyncMs: noopMs, smallSyncMs: smallMs, smallRows: 1000, noopRatio: noopMs / nodeMs, smallRatio: smallMs / nodeMs, runsMs: { node, noop, small } };
  } finally {
    await hub.stop();
  }
}

/** Writes the synthetic rows as a CSV file in crsync's CSV conventions (TEXT quoted). */
async function writeItemsCsv(path, rows) {
  const out = createWriteStream(path);
  out.write('id,name,qty,price,note\n');
  const text = (v) => (v === null ? '' : `"${v}"`);
  for (let i = 0; i < rows; i++) {
    // price always has a fraction (i / 7 + 0.5), so it reads back as REAL.
    const [id, name, qty, price, note] = itemRow(i);
    const line = `${id},${text(name)},${qty},${price},${text(note)}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * Case 7, `crsync import` of a CSV (N/4 rows) into a replicated table, against inserting the same
 * rows with one prepared statement in one process (same table, same pragmas). Both sides are whole
 * processes, as docs/benchmarks.md says (the yardstick used to be timed inside its process, which
 * left Node's start-up and module loading on crsync's side only); the in-process time is kept too.
 */
export async function importCase(ctx) {
  const { dir, n, runs, log } = ctx;
  const rows = n / 4;
  const csv = join(dir, 'items.csv');
  await writeItemsCsv(csv, rows);
  const imp = [];
  const base = [];
  const inside = [];
  for (let i = 0; i < runs; i++) {
    const x = join(dir, `imp${i}.db`);
    emptyReplica(x, ITEMS_SQL, ['items']);
    imp.push(wallMs('node', [cli, '-d', x, 'import', 'items', csv]));
    const got = crsync('-d', x, '--json', 'sql', 'SELECT count(*) AS n FROM items');
    if (!got.includes(`${rows}`)) throw new Error(`import did not load ${rows} rows: ${got}`);
    rmSync(x, { force: true });
    const y = join(dir, `ins${i}.db`);
    emptyReplica(y, ITEMS_SQL, ['items']);
    const t = performance.now();
    inside.push(nodeJson('baseline.mjs', 'insert', y, String(rows)).ms);
    base.push(performance.now() - t);
    rmSync(y, { force: true });
    log(`  import run ${i + 1}: ${Math.round(imp[i])} ms; prepared insert ${Math.round(base[i])} ms whole process (${Math.round(inside[i])} ms inside it)`);
  }
  const importMs = median(imp);
  const insertMs = median(base);
  return {
    rows,
    csvMiB: statSync(csv).size / 2 ** 20,
    importMs,
    insertMs,
    insertInProcessMs: median(inside),
    importRowsPerSec: (rows * 1000) / importMs,
    insertRowsPerSec: (rows * 1000) / insertMs,
    ratio: insertMs / importMs,
  };
}

/** Case 8, adding a column to a replicated table of 100k rows, against the same ALTER on a plain table. */
export async function migrateCase() {
  const m = await import('./migrate.mjs');
  return m.run(100_000);
}
