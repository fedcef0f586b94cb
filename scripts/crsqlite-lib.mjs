// Shared helpers for scripts/build-crsqlite.mjs and scripts/test-crsqlite.mjs.
//
// crsync ships its own build of the cr-sqlite loadable extension: the npm package
// @vlcn.io/crsqlite@0.16.3 cannot be installed offline (its install script downloads a
// prebuilt binary from GitHub, and building from source wants a pinned nightly toolchain
// plus crates.io). We build the package's own sources instead, patched by
// patches/crsqlite-0.16.3/*.patch, with the few crates it needs taken from Debian's
// librust-*-dev packages as an offline cargo directory source.
//
// Only node: built-ins here: this runs from `npm install` before anything else exists.

import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const PKG_NAME = '@vlcn.io/crsqlite';
export const PKG_VERSION = '0.16.3';
// sha512 of the npm tarball (same as the registry's dist.integrity).
export const TARBALL_SHA512 =
  'sha512-1rKylRr2LyW5kwh/a6ZFmvt7kFK+aKLGkz9+O1w9EFVdH11SMUg6MfvxTfoczKCyb3/E5qvdOk2NDW/Zin6OjQ==';
export const TARBALL_NAME = `vlcn.io-crsqlite-${PKG_VERSION}.tgz`;
// bindgen output shipped inside the tarball; patch 0002 makes build.rs copy it.
export const SHIPPED_BINDINGS =
  'rs/bundle_static/target/release/build/sqlite3_capi-41f11011a1f1500c/out/bindings.rs';

const SCRIPTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(SCRIPTS_DIR, '..');
export const BUILD_DIR = path.join(ROOT, '.crsqlite');
export const SRC_DIR = path.join(BUILD_DIR, 'src');
export const CARGO_HOME_DIR = path.join(BUILD_DIR, 'cargo-home');
export const PATCH_DIR = path.join(ROOT, 'patches', `crsqlite-${PKG_VERSION}`);
export const NATIVE_DIR = path.join(ROOT, 'native');
export const OUT_SO = path.join(NATIVE_DIR, 'crsqlite.so');
export const STAMP = path.join(NATIVE_DIR, 'crsqlite.stamp');
export const TEST_STAMP = path.join(NATIVE_DIR, 'crsqlite.tested.stamp');
const SRC_MARKER = '.crsync-src-hash';

export const DEBIAN_REGISTRY = '/usr/share/cargo/registry';
export const BUILD_APT_PACKAGES = ['librust-bytes-dev', 'librust-num-traits-dev', 'librust-num-derive-dev'];
export const TEST_APT_PACKAGES = [...BUILD_APT_PACKAGES, 'librust-libc-print-dev'];

const TAIL_LINES = 40;
let verbose = process.env.CRSQLITE_VERBOSE === '1';

export class BuildError extends Error {
  /** @param {string} message one line  @param {string} [tail] output of the failing command */
  constructor(message, tail = '') {
    super(message);
    this.tail = tail;
  }
}

export function setVerbose(v) {
  verbose = v;
}

export function log(msg) {
  process.stderr.write(`cr-sqlite: ${msg}\n`);
}

export function rel(p) {
  return path.relative(ROOT, p) || '.';
}

/** Print a BuildError (or anything else) and exit 1. */
export function fail(err) {
  if (err instanceof BuildError) {
    process.stderr.write(`cr-sqlite: error: ${err.message}\n`);
    if (err.tail) {
      process.stderr.write(`---- output (errors and last lines) ----\n${err.tail}\n------------------------------\n`);
    }
  } else {
    process.stderr.write(`cr-sqlite: error: ${err && err.stack ? err.stack : String(err)}\n`);
  }
  process.exit(1);
}

export function tail(text, n = TAIL_LINES) {
  const lines = String(text).replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

// Lines that start an error report (rustc/cargo, gcc, make, patch, apt, npm).
const ERROR_START = /^(error(\[E\d+\])?:|.*:\d+:\d+: (fatal )?error:|.*\*\*\*|E: |fatal:|npm (ERR!|error)|Hunk #\d+ FAILED|.*Assertion .* failed)/;

/**
 * The part of a command's output worth showing: the error reports (compilers bury them
 * under hundreds of warning lines) plus the last lines; or simply the last lines.
 */
export function errorTail(text, n = TAIL_LINES) {
  const lines = String(text).replace(/\s+$/, '').split('\n');
  const picked = new Set();
  lines.forEach((l, i) => {
    if (!ERROR_START.test(l)) return;
    for (let j = i; j < lines.length && j < i + 15 && (j === i || lines[j].trim() !== ''); j++) picked.add(j);
  });
  for (let j = Math.max(0, lines.length - 3); j < lines.length; j++) picked.add(j);
  const idx = [...picked].sort((a, b) => a - b);
  if (idx.length <= 3) return tail(text, n);
  const out = [];
  let prev = -1;
  for (const i of idx.slice(-n)) {
    if (prev >= 0 && i !== prev + 1) out.push('  ...');
    out.push(lines[i]);
    prev = i;
  }
  return out.join('\n');
}

/** Find an executable in PATH (like `command -v`). */
export function which(cmd, env = process.env) {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Run a command, capturing its output (streamed too with `stream` or --verbose).
 * Resolves to the combined output; rejects with a BuildError holding its tail.
 */
export function run(what, cmd, args, { cwd = ROOT, env = process.env, stream = false } = {}) {
  return new Promise((resolve, reject) => {
    const show = stream || verbose;
    let out = '';
    let child;
    try {
      child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      reject(new BuildError(`${what}: cannot run ${cmd}: ${e.message}`));
      return;
    }
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      if (show) process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
      if (show) process.stderr.write(d);
    });
    child.on('error', (e) => reject(new BuildError(`${what}: cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        const err = new BuildError(`${what} failed: \`${[cmd, ...args].join(' ')}\` ${how}`, errorTail(out));
        err.output = out;
        err.code = code;
        reject(err);
      }
    });
  });
}

// ---------------------------------------------------------------------------
// stamp

export function patchFiles() {
  let names;
  try {
    names = fs.readdirSync(PATCH_DIR).filter((n) => n.endsWith('.patch')).sort();
  } catch {
    throw new BuildError(`patch directory ${rel(PATCH_DIR)} is missing`);
  }
  if (names.length === 0) throw new BuildError(`no *.patch files in ${rel(PATCH_DIR)}`);
  return names.map((n) => path.join(PATCH_DIR, n));
}

/**
 * Hash of everything that determines the build: package version, tarball sha, the
 * patches, and the build scripts themselves (the lib holds most of the logic).
 */
export function inputsHash() {
  const h = createHash('sha256');
  h.update(`crsync-crsqlite-stamp-v1\n${PKG_NAME}@${PKG_VERSION}\n${TARBALL_SHA512}\n`);
  h.update(`${process.platform}-${process.arch}\n`);
  for (const p of patchFiles()) {
    h.update(`patch ${path.basename(p)}\n`);
    h.update(fs.readFileSync(p));
  }
  for (const s of ['build-crsqlite.mjs', 'crsqlite-lib.mjs']) {
    h.update(`script ${s}\n`);
    h.update(fs.readFileSync(path.join(SCRIPTS_DIR, s)));
  }
  return h.digest('hex');
}

export function readFileOr(p, dflt = null) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return dflt;
  }
}

export function isUpToDate(hash) {
  return readFileOr(STAMP, '').trim() === hash && fs.existsSync(OUT_SO);
}

export function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------------------
// lock: one build at a time in .crsqlite/ (npm install and the test script may overlap)

export async function withLock(fn) {
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const lock = path.join(BUILD_DIR, '.lock');
  const deadline = Date.now() + 15 * 60 * 1000;
  let announced = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const pid = Number(readFileOr(lock, '').trim());
      if (!pid && lockAgeMs(lock) < 5000) {
        await sleep(100); // just created, pid not written yet
        continue;
      }
      if (!pid || !pidAlive(pid)) {
        fs.rmSync(lock, { force: true }); // stale lock of a dead process
        continue;
      }
      if (Date.now() > deadline) throw new BuildError(`timed out waiting for the build lock ${rel(lock)} (pid ${pid})`);
      if (!announced) log(`waiting for another cr-sqlite build (pid ${pid}) to finish`);
      announced = true;
      await sleep(500);
    }
  }
  const release = () => {
    if (readFileOr(lock, '').trim() === String(process.pid)) fs.rmSync(lock, { force: true });
  };
  process.on('exit', release);
  try {
    return await fn();
  } finally {
    release();
    process.removeListener('exit', release);
  }
}

function lockAgeMs(lock) {
  try {
    return Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return 0;
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------
// prerequisites

/**
 * Check tools up front; returns { env, makeArgs } for the cargo/make invocations.
 * Reports every missing tool in one message.
 */
export async function checkPrerequisites({ hash }) {
  log('checking prerequisites (cargo, rustc, gcc, make, patch, tar, npm)');
  const missing = [];
  for (const t of ['make', 'patch', 'tar']) if (!which(t)) missing.push(t);
  const cc = which('gcc') ? 'gcc' : which('cc') ? 'cc' : null;
  if (!cc) missing.push('gcc (or cc)');
  const hasCargo = !!which('cargo');
  const hasRustc = !!which('rustc');
  const tarballCached = fs.existsSync(path.join(BUILD_DIR, TARBALL_NAME));
  if (!tarballCached && !which('npm')) missing.push('npm');
  if (missing.length > 0 || !hasCargo || !hasRustc) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.join(', ')} (Debian: apt-get install -y build-essential patch tar)`);
    if (!hasCargo || !hasRustc) {
      parts.push(
        `${!hasCargo ? 'cargo' : 'rustc'} not found in PATH: install rustup with the stable toolchain ` +
          '(https://rustup.rs, then `rustup toolchain install stable`) or Debian\'s `apt-get install -y cargo-web rustc-web`',
      );
    }
    throw new BuildError(`cannot build cr-sqlite: ${parts.join('; ')}`);
  }

  const env = buildEnv(hash);
  // The crates use a few unstable features; RUSTC_BOOTSTRAP=1 allows them on stable.
  // RUSTUP_TOOLCHAIN overrides the packages' rust-toolchain.toml (pinned nightly-2023-10-05).
  let version;
  try {
    version = (await run('rust toolchain check', 'rustc', ['--version'], { env })).trim();
    await run('rust toolchain check', 'cargo', ['--version'], { env });
  } catch (e) {
    throw new BuildError(
      `the Rust toolchain does not run (RUSTUP_TOOLCHAIN=${env.RUSTUP_TOOLCHAIN}); with rustup run ` +
        `\`rustup toolchain install ${env.RUSTUP_TOOLCHAIN}\`, or install Debian's cargo-web rustc-web`,
      (e.tail || '').split('\nStack backtrace:')[0].trimEnd(),
    );
  }
  const m = /^rustc (\d+)\.(\d+)/.exec(version);
  if (m && Number(m[1]) === 1 && Number(m[2]) < 80) {
    log(`warning: ${version} is probably too old (known good: 1.95 stable, Debian rustc-web 1.96)`);
  }
  log(`using ${version}, ${cc}`);
  const makeArgs = [`CRSQLITE_COMMIT_SHA=${env.CRSQLITE_COMMIT_SHA}`];
  if (cc !== 'gcc') makeArgs.push(`CI_GCC=${cc}`);
  return { env, makeArgs };
}

export function buildEnv(hash) {
  return {
    ...process.env,
    RUSTC_BOOTSTRAP: '1',
    RUSTUP_TOOLCHAIN: process.env.CRSQLITE_RUSTUP_TOOLCHAIN || 'stable',
    // Isolated cargo home: never read or write ~/.cargo (config, registry cache, locks).
    CARGO_HOME: CARGO_HOME_DIR,
    CARGO_TERM_COLOR: 'never',
    // Upstream's Makefile takes this from `git rev-parse HEAD`; we pass it on make's
    // command line too so that target-specific assignment never runs.
    CRSQLITE_COMMIT_SHA: `npm-${PKG_VERSION}+crsync.${hash.slice(0, 12)}`,
    // Keep git (used by nothing we run, but be safe) from discovering the crsync repo.
    GIT_CEILING_DIRECTORIES: BUILD_DIR,
  };
}

/** Make sure the Debian crate packages are installed; install them when root. */
export async function ensureAptPackages(packages) {
  const missing = missingDebPackages(packages);
  if (missing.length === 0) return;
  const cmd = `apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    throw new BuildError(
      `missing Debian packages ${missing.join(', ')} (offline Rust crates for cr-sqlite); run: sudo ${cmd}`,
    );
  }
  if (!which('apt-get')) throw new BuildError(`missing Debian packages ${missing.join(', ')} and no apt-get found`);
  log(`installing Debian packages: ${cmd}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', ...missing];
  try {
    await run('apt-get install', 'apt-get', args, { env });
  } catch (e) {
    if (!/Unable to locate package|has no installation candidate|Failed to fetch|404\s+Not Found/i.test(e.output || '')) throw e;
    log('package lists are missing or stale: apt-get update');
    await run('apt-get update', 'apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { env });
    await run('apt-get install', 'apt-get', args, { env });
  }
  const still = missingDebPackages(packages);
  if (still.length) throw new BuildError(`apt-get did not install ${still.join(', ')}`);
}

function missingDebPackages(packages) {
  if (!which('dpkg-query')) {
    throw new BuildError(
      `cr-sqlite's offline build needs Debian's ${packages.join(', ')} (crates under ${DEBIAN_REGISTRY}), ` +
        'but this is not a Debian/Ubuntu system (no dpkg-query); set CRSYNC_SKIP_NATIVE_BUILD=1 and provide native/crsqlite.so yourself',
    );
  }
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...packages], { encoding: 'utf8' });
  const installed = new Set(
    (r.stdout || '')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === 'installed')
      .map((f) => f[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

// ---------------------------------------------------------------------------
// sources: npm pack -> verify -> extract -> patch -> cargo config

async function fetchTarball() {
  const dest = path.join(BUILD_DIR, TARBALL_NAME);
  if (fs.existsSync(dest)) {
    if (tarballSha512(dest) === TARBALL_SHA512) return dest;
    log(`${rel(dest)} has the wrong sha512, fetching it again`);
    fs.rmSync(dest, { force: true });
  }
  log(`fetching ${PKG_NAME}@${PKG_VERSION} (npm pack)`);
  const dl = path.join(BUILD_DIR, `download-${process.pid}`);
  fs.rmSync(dl, { recursive: true, force: true });
  fs.mkdirSync(dl, { recursive: true });
  try {
    await run('npm pack', 'npm', ['pack', `${PKG_NAME}@${PKG_VERSION}`, '--pack-destination', dl, '--silent'], {
      cwd: BUILD_DIR,
    });
    const got = path.join(dl, TARBALL_NAME);
    if (!fs.existsSync(got)) throw new BuildError(`npm pack did not produce ${TARBALL_NAME}`);
    const sha = tarballSha512(got);
    if (sha !== TARBALL_SHA512) {
      throw new BuildError(`${TARBALL_NAME} integrity mismatch: expected ${TARBALL_SHA512}, got ${sha}`);
    }
    fs.renameSync(got, dest);
  } finally {
    fs.rmSync(dl, { recursive: true, force: true });
  }
  return dest;
}

function tarballSha512(file) {
  return `sha512-${createHash('sha512').update(fs.readFileSync(file)).digest('base64')}`;
}

/**
 * Ready-to-build patched sources in .crsqlite/src. Reused as is (keeping cargo's
 * incremental state) when they were prepared for the same inputs hash, unless `fresh`.
 */
export async function prepareSources(hash, { fresh = false } = {}) {
  if (!fresh && readFileOr(path.join(SRC_DIR, SRC_MARKER), '').trim() === hash) {
    log(`reusing patched sources in ${rel(SRC_DIR)}`);
    writeCargoConfig();
    return SRC_DIR;
  }
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const tgz = await fetchTarball();

  log(`extracting ${TARBALL_NAME}`);
  const tmp = path.join(BUILD_DIR, 'src.tmp');
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await run('extract', 'tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1', '--no-same-owner'], { cwd: BUILD_DIR });

  for (const p of patchFiles()) {
    log(`applying patch ${path.basename(p)}`);
    await run(`patch ${path.basename(p)}`, 'patch', ['-p1', '--forward', '--batch', '--no-backup-if-mismatch', '-i', p], {
      cwd: tmp,
    });
  }
  if (!fs.existsSync(path.join(tmp, SHIPPED_BINDINGS))) {
    throw new BuildError(`the tarball does not contain the shipped bindings ${SHIPPED_BINDINGS}`);
  }
  // The shipped lock files pin crates.io versions that the Debian crates do not match.
  for (const lockFile of findFiles(path.join(tmp, 'rs'), 'Cargo.lock')) fs.rmSync(lockFile);

  fs.writeFileSync(path.join(tmp, SRC_MARKER), `${hash}\n`);
  fs.rmSync(SRC_DIR, { recursive: true, force: true });
  fs.renameSync(tmp, SRC_DIR);
  writeCargoConfig();
  return SRC_DIR;
}

function findFiles(dir, name, out = []) {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) {
      if (ent.name !== 'target') findFiles(p, name, out);
    } else if (ent.name === name) out.push(p);
  }
  return out;
}

/** Offline cargo: crates.io replaced by Debian's directory source. */
function writeCargoConfig() {
  const config = [
    '# Written by scripts/crsqlite-lib.mjs: build offline from Debian librust-*-dev crates.',
    '[source.crates-io]',
    'replace-with = "debian"',
    '',
    '[source.debian]',
    `directory = "${DEBIAN_REGISTRY}"`,
    '',
    '[net]',
    'offline = true',
    '',
  ].join('\n');
  const dir = path.join(SRC_DIR, '.cargo');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(CARGO_HOME_DIR, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.toml'), config);
}

// ---------------------------------------------------------------------------
// build

/** `make loadable`, then copy dist/crsqlite.so to native/crsqlite.so atomically. */
export async function buildLoadable({ env, makeArgs }) {
  log('building (make loadable: cargo build --release + gcc)');
  const built = path.join(SRC_DIR, 'dist', 'crsqlite.so');
  fs.rmSync(built, { force: true });
  await run('make loadable', 'make', ['loadable', ...makeArgs], { cwd: SRC_DIR, env });
  if (!fs.existsSync(built)) throw new BuildError(`make loadable did not produce ${rel(built)}`);
  const head = Buffer.alloc(4);
  const fd = fs.openSync(built, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  if (head.toString('latin1') !== '\x7fELF') throw new BuildError(`${rel(built)} is not an ELF shared object`);

  log(`installing ${rel(OUT_SO)}`);
  fs.mkdirSync(NATIVE_DIR, { recursive: true });
  const tmp = `${OUT_SO}.tmp-${process.pid}`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, OUT_SO);
}
