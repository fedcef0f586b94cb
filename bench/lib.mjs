// Shared parts of the benchmark: processes, timing, seeding. Prints nothing itself.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ext = join(root, 'native', 'crsqlite.so');
/** Built datasets kept between runs (git-ignored), named by what they hold. */
export const outDir = join(root, 'bench', 'out');

/**
 * The crsync under test: this checkout's bin/crsync.js unless `--crsync <bin/crsync.js>` names
 * another checkout's (e.g. the code before a change). Child bench scripts read the same choice
 * from $CRSYNC_BENCH_CLI, so workers import that checkout's dist/ too.
 */
export let cli = process.env.CRSYNC_BENCH_CLI ? resolve(process.env.CRSYNC_BENCH_CLI) : join(root, 'bin', 'crsync.js');
export function useCli(path) {
  cli = resolve(path);
  if (!existsSync(cli)) throw new Error(`no crsync at ${cli}`);
  if (!existsSync(join(dirname(cli), '..', 'dist'))) throw new Error(`${cli} has no built dist/ beside it (run npm run build there)`);
  process.env.CRSYNC_BENCH_CLI = cli;
}

/**
 * Imports a module of the checkout under test's dist/, by its first path that exists: the code
 * moved (dist/sync/engine.js became dist/sync/client/engine.js), and older checkouts are benched too.
 */
export async function importDist(...candidates) {
  const dist = join(dirname(cli), '..', 'dist');
  for (const c of candidates) {
    const p = join(dist, c);
    if (existsSync(p)) return import(p);
  }
  throw new Error(`none of ${candidates.join(', ')} in ${dist}`);
}

/** The table every synthetic case uses: 4 replicated columns, so one row is 4 changes. */
export const ITEMS_SQL = 'CREATE TABLE items (id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, note TEXT)';

/** Row i of the synthetic dataset (the same rows for crsync and for every baseline). */
export function itemRow(i) {
  return [i, `item ${i}`, i % 1000, i / 7 + 0.5, i % 3 === 0 ? null : `note ${i % 97}`];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Opens a database the way crsync's own writers do: extension loaded, WAL, NORMAL sync. */
export function openDb(path) {
  const db = new Database(path);
  db.loadExtension(ext);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('temp_store = MEMORY');
  return db;
}

export function closeDb(db) {
  db.prepare('SELECT crsql_finalize()').run();
  db.close();
}

/** Runs the CLI and returns stdout (throws on a non-zero exit). */
export function crsync(...args) {
  return execFileSync('node', [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CRSYNC_RETRIES: '1' } });
}

/** Runs a bench script in a fresh Node process; it prints one JSON line (its figures). */
export function nodeJson(script, ...args) {
  const out = execFileSync('node', [join(root, 'bench', script), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, CRSYNC_RETRIES: '1' },
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** Wall time of a whole process, from spawn to exit (what a user waits for). */
export function wallMs(cmd, args, env = process.env) {
  const t = performance.now();
  execFileSync(cmd, args, { stdio: 'ignore', env });
  return performance.now() - t;
}

/** CPU time (user + system) a running process has used so far, in ms (Linux: /proc/<pid>/stat). */
export function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime, stime are 14, 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  clkTck ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck;
}
let clkTck;

let timed = 0;
/**
 * Runs a whole crsync process (`node <cli> ...args`) without blocking the event loop, under
 * /usr/bin/time: its wall time from spawn to exit (measured here), CPU time (user + sys) and
 * peak RSS (wait4's ru_maxrss, as GNU time reports it). Rejects on a non-zero exit unless `allowFail`.
 */
export async function runCrsync(args, { env = process.env, allowFail = false } = {}) {
  const file = join(tmpdir(), `crsync-bench-time-${process.pid}-${timed++}`);
  const t = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', file, 'node', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { CRSYNC_RETRIES: '1', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((res) => child.on('close', res));
  const ms = performance.now() - t;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  rmSync(file, { force: true });
  // GNU time prints "Command exited with non-zero status N" first when the command failed.
  const [user, sys, rssKb] = lines.at(-1).split(' ').map(Number);
  const r = { ms, cpuMs: (user + sys) * 1000, maxRssMiB: rssKb / 1024, code, stdout, stderr };
  if (code !== 0 && !allowFail) throw new Error(`crsync ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return r;
}

/** Peak resident memory of a running process (Linux: VmHWM), in MiB. */
export function peakRssMiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Starts `crsync serve` on a loopback port (a free one unless given); resolves with its URL and a stop function. */
export async function startHub(hubDir, port = 0, extra = []) {
  mkdirSync(hubDir, { recursive: true });
  return startHubOn({ dir: hubDir }, port, extra);
}

/** startHub on either store: `{ dir }` (SQLite files) or `{ postgres: url }` (`serve --store`). */
export async function startHubOn(store, port = 0, extra = []) {
  const where = store.postgres ? ['--store', store.postgres] : ['--dir', store.dir];
  const proc = spawn('node', [cli, 'serve', ...where, '--port', String(port), ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise((res, rej) => {
    proc.once('exit', (code) => rej(new Error(`hub exited (${code}) before it listened`)));
    createInterface({ input: proc.stdout }).once('line', (l) => res(l.trim()));
  });
  proc.removeAllListeners('exit');
  return {
    url,
    port: Number(new URL(url).port),
    pid: proc.pid,
    peakRssMiB: () => peakRssMiB(proc.pid),
    cpuMs: () => cpuMsOf(proc.pid),
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
    },
  };
}

/** Creates a crsync replica with `items` replicated and `rows` rows in it (batches of 10k). */
export function seedItems(path, rows, from = 0) {
  if (from === 0) {
    crsync('-d', path, 'init');
    crsync('-d', path, 'sql', ITEMS_SQL);
    crsync('-d', path, 'track', 'items');
  }
  const db = openDb(path);
  const ins = db.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?)');
  const batch = db.transaction((a, b) => {
    for (let i = a; i < b; i++) ins.run(...itemRow(i));
  });
  for (let i = from; i < from + rows; i += 10_000) batch(i, Math.min(from + rows, i + 10_000));
  closeDb(db);
}

/** A replica with crsync's bookkeeping and the replicated schema, and no rows. */
export function emptyReplica(path, schemaSql, tables) {
  crsync('-d', path, 'init');
  crsync('-d', path, 'sql', schemaSql);
  crsync('-d', path, 'track', ...tables);
}

export const fmtInt = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
