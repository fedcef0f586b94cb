// A throwaway PostgreSQL cluster for tests and the benchmark: initdb in a temporary folder, a free
// loopback port, durability off (fsync, synchronous commit, full-page writes: a test cluster that
// dies is thrown away anyway). The server's own binaries from Debian's postgresql package
// (/usr/lib/postgresql/<major>/bin); .ci/run installs the package when they are missing.
// initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = '/usr/lib/postgresql';

/** The bin folder of the newest PostgreSQL installed, or undefined. */
export function pgBinDir() {
  if (!existsSync(ROOT)) return undefined;
  const majors = readdirSync(ROOT)
    .filter((d) => existsSync(join(ROOT, d, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(ROOT, majors[0], 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a cluster; resolves to its connection URL (user `crsync`, database `crsync`), its port,
 * and `stop()`, which kills the server at once and removes its folder. `kill()` stops the server
 * without removing anything, `start()` brings it back on the same port (a lost server, in tests).
 */
export async function startPgCluster({ database = 'crsync' } = {}) {
  const bin = pgBinDir();
  if (!bin) throw new Error(`PostgreSQL server binaries not found under ${ROOT}: apt-get install postgresql`);
  const dir = mkdtempSync(join(tmpdir(), 'crsync-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  let uid;
  let gid;
  if (asRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (cmd, args) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const r = spawnSync(file, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run('initdb', ['-D', data, '-U', 'crsync', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const start = () => run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
  const kill = () => run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  start();
  if (database !== 'postgres') {
    const r = spawnSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'crsync', '-d', 'postgres', '-qc', `CREATE DATABASE ${database}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`CREATE DATABASE failed: ${r.stderr}`);
  }
  const base = `postgres://crsync@127.0.0.1:${port}`;
  return {
    url: `${base}/${database}`,
    /** A URL of another database on the same server (created by the caller). */
    urlOf: (db) => `${base}/${db}`,
    port,
    dir,
    start,
    kill,
    async stop() {
      try {
        kill();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
