import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { tempDir } from '../helpers.js';

// The CLI's chunks compile through V8's code cache (scripts/bundle-boot.cjs). Each test runs
// its own copy of the built package, so its cache files are its own.
const root = resolve(import.meta.dirname, '..', '..');
let tmp: ReturnType<typeof tempDir>;
let pkg: string;
beforeEach(() => {
  tmp = tempDir();
  pkg = tmp.path('pkg');
  cpSync(join(root, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(root, 'dist', 'bundle'), join(pkg, 'dist', 'bundle'), { recursive: true, filter: (src) => !src.includes('.v8-cache') });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(root, 'native'), join(pkg, 'native'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
});
afterEach(() => tmp.cleanup());

const cacheDir = (): string => join(pkg, 'dist', 'bundle', '.v8-cache');
const cacheFiles = (): string[] => readdirSync(cacheDir()).filter((f) => f.endsWith('.bin')).sort();
async function run(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('node', [join(pkg, 'bin', 'crsync.js'), ...args], { env: { NO_COLOR: '1' }, reject: false, timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('the code cache of the CLI bundle', () => {
  it('is written by the first run of a command and leaves its output as it was', async () => {
    const db = tmp.path('r.db');
    const first = await run(['-d', db, '--json', 'init']);
    expect(first.exitCode).toBe(0);
    const written = cacheFiles();
    expect(written.some((f) => f.startsWith('main.init.'))).toBe(true);
    const again = await run(['-d', db, '--json', 'init']);
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ ...JSON.parse(first.stdout), created: false });
    // A hit writes nothing new; another command gets caches of its own.
    expect(cacheFiles()).toEqual(written);
    const status = await run(['-d', db, '--json', 'status']);
    expect(status.exitCode).toBe(0);
    expect(cacheFiles().some((f) => f.startsWith('main.status.'))).toBe(true);
  });

  it('is left out when stack traces are mapped (--debug, --enable-source-maps): Node compiles, registering the source maps', async () => {
    const plain = await run(['--version']);
    const cached = cacheFiles();
    rmSync(cacheDir(), { recursive: true });
    const debug = await run(['--debug', '--version']);
    expect(debug).toEqual(plain);
    expect(existsSync(cacheDir())).toBe(false);
    const r = await execa('node', ['--enable-source-maps', join(pkg, 'bin', 'crsync.js'), '--version'], { env: { NO_COLOR: '1' }, reject: false });
    expect(String(r.stdout)).toBe(plain.stdout);
    expect(existsSync(cacheDir())).toBe(false);
    expect(cached.length).toBeGreaterThan(0);
  });

  it('ignores a corrupt cache, still answers the same, and replaces it', async () => {
    const clean = await run(['--version']);
    expect(clean.exitCode).toBe(0);
    const files = cacheFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) writeFileSync(join(cacheDir(), f), 'not a V8 code cache');
    const hit = await run(['--version']);
    expect(hit).toEqual(clean);
    const usage = await run(['nosuch']);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain("unknown command 'nosuch'");
    for (const f of files) expect(readFileSync(join(cacheDir(), f), 'utf8')).not.toBe('not a V8 code cache');
  });

  it('never uses the cache of an older file of the same name', async () => {
    await run(['--version']);
    // Rebuilt in place: same name and length (all V8 checks), other content.
    const main = join(pkg, 'dist', 'bundle', 'main.js');
    const was = 'Local-first SQLite with CRDT sync (cr-sqlite)';
    const now = 'Rebuilt in place, of the very same length....';
    expect(now.length).toBe(was.length);
    writeFileSync(main, readFileSync(main, 'utf8').replace(was, now));
    const help = await run(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain(now);
  });
});
