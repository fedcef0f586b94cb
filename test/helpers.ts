import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Absolute path of the built CLI (tests run after `npm run build`). */
export const CLI = resolve(import.meta.dirname, '..', 'bin', 'crsync.js');

/** A temp directory for one test; call cleanup() in afterEach. */
export function tempDir(prefix = 'crsync-test-'): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; never throws on a non-zero exit. */
export async function crsync(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<CliRun> {
  const r = await execa('node', [CLI, ...args], {
    cwd: options.cwd,
    env: { NO_COLOR: '1', ...options.env },
    input: options.input,
    reject: false,
    stripFinalNewline: false,
    timeout: 120_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs the CLI with --json and parses stdout (the one JSON document). */
export async function crsyncJson<T = unknown>(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<{ exitCode: number; json: T; stderr: string }> {
  const r = await crsync([...args, '--json'], options);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.exitCode}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { exitCode: r.exitCode, json, stderr: r.stderr };
}

/** A running `crsync serve` process on a free loopback port. */
export interface Hub {
  url: string;
  proc: ResultPromise;
  stop(signal?: NodeJS.Signals): Promise<number | undefined>;
}

/** Starts `crsync serve --dir <dir> --port 0` and waits for the URL it prints on its first stdout line. */
export async function startHub(dir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Hub> {
  return startHubOn({ dir }, extra, env);
}

/** Where a hub keeps its datasets: a folder of SQLite files, or a PostgreSQL database (a postgres:// URL). */
export type HubStore = { dir: string } | { postgres: string };

/** Starts `crsync serve --port 0` on either store and waits for the URL it prints on its first stdout line. */
export async function startHubOn(store: HubStore, extra: string[] = [], env: Record<string, string> = {}): Promise<Hub> {
  const where = 'dir' in store ? ['--dir', store.dir] : ['--store', store.postgres];
  const proc = execa('node', [CLI, 'serve', ...where, '--port', '0', ...extra], {
    env: { NO_COLOR: '1', ...env },
    reject: false,
    buffer: false,
  });
  const rl = createInterface({ input: proc.stdout! });
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('hub did not print its URL in time')), 20_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      res(line.trim());
    });
    proc.once('exit', (code) => rej(new Error(`hub exited early with ${code}`)));
  });
  rl.close();
  proc.stdout?.resume();
  return {
    url,
    proc,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && !proc.killed) proc.kill(signal);
      const r = await proc;
      return r.exitCode;
    },
  };
}
