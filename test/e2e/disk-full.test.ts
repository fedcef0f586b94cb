import { existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../helpers.js';
import { expectIntact, expectPrefix, pullCursorOf, receivedCursorOf, seedSource, siteOf } from './crash-helpers.js';
import { ok, run, runJson, sandbox } from './sync-helpers.js';

/**
 * A full disk, for real: a tmpfs of SMALL mounted for each test (this needs root; the tests
 * skip, saying so, where mounting is refused), grown with `mount -o remount` to free space.
 * SQLite store only: the full disk is the one under the hub's dataset files; a hub on PostgreSQL
 * writes no file of its own (its database's disk is the PostgreSQL server's).
 */
const SMALL = '4m';
/** 20 transactions of 2,000 rows: 80,000 changes, well over 4 MiB as a replica. */
const [TX, ROWS] = [20, 2000];
const TOTAL = TX * ROWS * 2;
const ALL = { version: 1n << 62n, seq: 0n };

const tmp = sandbox('crsync-disk-full-');
let disk: string | undefined;
let refused: string | undefined;
/** Hubs serving from the small disk: stopped before it is unmounted. */
const hubs: Hub[] = [];

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'crsync-small-disk-'));
  const r = await execa('mount', ['-t', 'tmpfs', '-o', `size=${SMALL}`, 'tmpfs', dir], { reject: false });
  if (r.exitCode === 0) disk = dir;
  else {
    refused = String(r.stderr || r.message || `exit ${r.exitCode}`).trim();
    rmSync(dir, { recursive: true, force: true });
  }
});

afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop();
  if (disk) {
    await execa('umount', [disk], { reject: false });
    rmSync(disk, { recursive: true, force: true });
    disk = undefined;
  }
});

/** The small disk, or a skip that says why there is none. */
function smallDisk(ctx: { skip: (note?: string) => void }): string {
  if (!disk) ctx.skip(`cannot mount a tmpfs here (${refused ?? 'unknown'}): the disk-full tests need root`);
  return disk!;
}

/** Gives the small disk room again (a tmpfs is resized in place). */
async function grow(dir: string): Promise<void> {
  await execa('mount', ['-o', 'remount,size=64m', dir]);
}

/** Whether a file starts like an SQLite database. */
function looksLikeSqlite(file: string): boolean {
  if (!statSync(file).isFile() || statSync(file).size < 16) return false;
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(16);
  readSync(fd, head, 0, 16, 0);
  closeSync(fd);
  return head.toString('latin1') === 'SQLite format 3\0';
}

async function health(hub: Hub): Promise<number> {
  return (await fetch(`${hub.url}/v1/health`)).status;
}

/** A source replica of TOTAL changes with origin at `url` (a dataset the first push creates). */
async function source(url: string): Promise<string> {
  const a = tmp.path('a.db');
  seedSource(a, TX, ROWS);
  await ok(['-d', a, 'remote', 'add', 'origin', url]);
  return a;
}

/** Runs a command that must fail on the full disk: exit 1 and disk_full in its JSON; returns the error. */
async function expectDiskFull(argv: string[]): Promise<{ code: string; message: string; hint: string }> {
  const r = await runJson<{ error: { code: string; message: string; hint: string } }>(argv);
  expect(r.exitCode, r.stderr).toBe(1);
  expect(r.json.error.code).toBe('disk_full');
  return r.json.error;
}

describe('a full disk', () => {
  it("the hub's disk fills during a push: 507 disk_full, exit 1, the committed pages intact, the hub serving; the push resumes once there is room", async (ctx) => {
    const dir = smallDisk(ctx);
    const hub = await startHub(join(dir, 'hub'));
    hubs.push(hub);
    const a = await source(`${hub.url}/shop`);
    const hubFile = join(dir, 'hub', 'shop.db');

    const full = await expectDiskFull(['-d', a, 'push', '--create', '--no-snapshot', '--page-size', '2000']);
    expect(full.message).toContain("the hub's disk is full");
    expect(full.hint).toContain('free space');
    // Whole pages up to the hub's record of the push, nothing half-applied, the file sound.
    expectIntact(hubFile);
    const at = expectPrefix(a, hubFile, receivedCursorOf(siteOf(a)), 'after the disk filled');
    expect(at.version).toBeGreaterThan(0n);
    expect(at.version).toBeLessThan(BigInt(TX));

    // The hub still answers, and serves what it has: a clone elsewhere gets the committed pages.
    expect(await health(hub)).toBe(200);
    const clone = await ok<{ received: number }>(['clone', '--no-snapshot', `${hub.url}/shop`, tmp.path('c.db')]);
    expect(clone.received).toBeGreaterThan(0);
    expect(clone.received).toBeLessThan(TOTAL);

    await grow(dir);
    const rerun = await ok(['-d', a, 'push', '--page-size', '2000']);
    expect(rerun.sent).toBe(TOTAL - clone.received);
    expectPrefix(a, hubFile, ALL, 'after the rerun');
  });

  it('a pull into a full disk: disk_full, exit 1, the replica intact with whole pages; the pull resumes once there is room', async (ctx) => {
    const dir = smallDisk(ctx);
    const hub = await tmp.hub();
    const a = await source(`${hub.url}/shop`);
    await ok(['-d', a, 'push', '--create']);
    const b = join(dir, 'b.db');
    await ok(['-d', b, 'init']);
    await ok(['-d', b, 'remote', 'add', 'origin', `${hub.url}/shop`]);

    const full = await expectDiskFull(['-d', b, 'pull', '--page-size', '2000']);
    expect(full.message).toMatch(/^the disk is full: /);
    expect(full.hint).toContain('what was committed is kept');
    const human = await run(['-d', b, 'pull', '--page-size', '2000']);
    expect(human.exitCode).toBe(1);
    expect(human.stderr).not.toContain('internal');
    expectIntact(b);
    // The pull cursor is a place in the hub's stream: b holds exactly the hub's changes up to it.
    const hubFile = tmp.path('hub/shop.db');
    const at = expectPrefix(hubFile, b, pullCursorOf(), 'after the disk filled');
    expect(at.version).toBeGreaterThan(0n);
    expect(at.version).toBeLessThan(BigInt(TX));

    await grow(dir);
    await ok(['-d', b, 'pull', '--page-size', '2000']);
    expectPrefix(a, b, ALL, 'after the rerun');
    expect(await ok(['-d', b, 'sync'])).toMatchObject({ sent: 0, received: 0 });
  });

  it('a snapshot clone into a full disk fails with exit 1 and leaves no file that looks like a replica', async (ctx) => {
    const dir = smallDisk(ctx);
    const hub = await tmp.hub();
    const a = await source(`${hub.url}/shop`);
    await ok(['-d', a, 'push', '--create']);
    const into = join(dir, 'clones');
    mkdirSync(into);

    await expectDiskFull(['clone', `${hub.url}/shop`, join(into, 'c.db')]);
    expect(existsSync(join(into, 'c.db'))).toBe(false);
    const left = readdirSync(into).filter((f) => looksLikeSqlite(join(into, f)));
    expect(left, `files left: ${readdirSync(into).join(', ')}`).toEqual([]);

    await grow(dir);
    const again = await ok<{ via: string; received: number }>(['clone', `${hub.url}/shop`, join(into, 'c.db')]);
    expect(again).toMatchObject({ via: 'snapshot', received: TOTAL });
  });
});
