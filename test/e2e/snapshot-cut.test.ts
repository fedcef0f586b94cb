import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { makeReplica, ok, rows, runJson, sandbox, spawnCli, sql } from './sync-helpers.js';

/*
 * A snapshot clone cut at any byte: the hub's answer stops after k bytes of its body (the
 * connection dropped), or the client is SIGKILLed once k bytes have passed. After every cut the
 * target file is absent or a whole replica (never a half-made one), and the next run resumes the
 * download from what reached the disk (Range), or starts over when the dataset moved on.
 * test/e2e/snapshot-clone.test.ts has the corrupt, truncated and half-cut answers.
 */
const box = sandbox('crsync-snapcut-');

const CHANGES = `SELECT "table" AS tbl, hex(pk) AS pk, cid, val, col_version, cl, hex(site_id) AS site FROM crsql_changes ORDER BY tbl, pk, cid`;

/** What the proxy does to the next snapshot answers, one entry per answer; then it passes them whole. */
type Cut = { cut: number } | { kill: number };

interface Seen {
  range: string | undefined;
  status: number;
  /** Body bytes passed on to the client. */
  sent: number;
}

let proxy: Server | undefined;
afterEach(async () => {
  proxy?.closeAllConnections();
  if (proxy) await new Promise((r) => proxy!.close(r));
  proxy = undefined;
});

/**
 * A proxy in front of the hub that passes every request on, and cuts each snapshot answer as the
 * next entry of `plan` says: after `cut` body bytes it drops the connection; after `kill` bytes
 * it calls onKill and holds the rest back until the client is gone. Records every snapshot answer.
 */
async function cutting(hubUrl: string, plan: Cut[], onKill: () => void = () => {}): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const snapshot = req.url?.endsWith('/snapshot') ?? false;
    const step = snapshot ? plan.shift() : undefined;
    const up = request(`${hubUrl}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode!, upRes.headers);
      if (!snapshot) return void upRes.pipe(res);
      const s: Seen = { range: req.headers.range, status: upRes.statusCode!, sent: 0 };
      seen.push(s);
      const limit = step === undefined ? Infinity : 'cut' in step ? step.cut : step.kill;
      let done = limit === 0;
      // Cut before the first byte: the headers go out, then the connection drops.
      if (done) res.write(Buffer.alloc(0), stop);
      function stop(): void {
        upRes.destroy();
        if (step && 'kill' in step) {
          onKill();
          req.socket.once('close', () => res.destroy());
        } else res.destroy();
      }
      upRes.on('data', (chunk: Buffer) => {
        if (done) return;
        const part = chunk.subarray(0, limit - s.sent);
        s.sent += part.length;
        if (s.sent < limit) return void res.write(part);
        done = true;
        res.write(part, stop);
      });
      upRes.on('end', () => done || res.end());
    });
    req.pipe(up);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/shop`, seen };
}

async function seeded(): Promise<{ hubUrl: string; a: string }> {
  const hub = await box.hub();
  const a = box.path('a.db');
  await makeReplica(a);
  await sql(a, `with recursive s(i) as (select 1 union all select i + 1 from s where i < 3000) insert into t (id, name, data) select i, 'row ' || i, randomblob(64) from s`);
  await sql(a, 'delete from t where id % 10 = 0');
  await ok(['-d', a, 'remote', 'add', 'origin', `${hub.url}/shop`]);
  await ok(['-d', a, 'push', '--create']);
  return { hubUrl: hub.url, a };
}

const target = (): string => box.path('s.db');
const gzOnDisk = (): number => (existsSync(`${target()}.partial.gz`) ? statSync(`${target()}.partial.gz`).size : 0);

/** After a cut: the target is absent (and crsync says so) or a whole replica; nothing else of it lies around. */
async function expectNoHalfReplica(whole: unknown[]): Promise<'absent' | 'whole'> {
  const left = readdirSync(box.dir).filter((f) => f.startsWith('s.db'));
  expect(left.every((f) => ['s.db', 's.db.partial', 's.db.partial.gz', 's.db.partial.gz.json'].includes(f)), left.join(' ')).toBe(true);
  if (!existsSync(target())) {
    const st = await runJson<{ error: { code: string } }>(['-d', target(), 'status', '--offline']);
    expect([st.exitCode, st.json.error.code]).toEqual([1, 'db_not_found']);
    return 'absent';
  }
  expect(await rows(target(), CHANGES)).toEqual(whole);
  return 'whole';
}

/** A clone of the hub straight (no proxy) into `name`: what a whole snapshot clone holds. */
async function wholeClone(hubUrl: string, name: string): Promise<unknown[]> {
  expect((await ok<{ via: string }>(['clone', `${hubUrl}/shop`, box.path(name)])).via).toBe('snapshot');
  return rows(box.path(name), CHANGES);
}

describe('a snapshot clone cut at any byte', () => {
  it('one run per cut: each leaves no replica, and the next asks for the rest from what reached the disk', async () => {
    const { hubUrl } = await seeded();
    const whole = await wholeClone(hubUrl, 'w.db');
    const offsets = [0, 1, 17, 4096, 40_000];
    const { url, seen } = await cutting(hubUrl, offsets.map((cut) => ({ cut })));
    const onDisk: number[] = [];
    for (const k of offsets) {
      const r = await runJson<{ error: { code: string; message: string } }>(['clone', url, target()], { CRSYNC_RETRIES: '1' });
      expect(r.exitCode, `cut after ${k}: ${JSON.stringify(r.json)}`).toBe(3);
      expect(r.json.error.message).toMatch(/snapshot download (was cut|ended)/);
      expect(await expectNoHalfReplica(whole)).toBe('absent');
      onDisk.push(gzOnDisk());
    }
    // Every byte an answer carried before its cut is on disk (none lost with the connection),
    // and each rerun asks for the rest from exactly there (no Range while nothing is on disk).
    expect(onDisk).toEqual(offsets.map((_, i) => offsets.slice(0, i + 1).reduce((a, b) => a + b, 0)));
    const done = await ok<{ via: string; bytes: number }>(['clone', url, target()]);
    expect(done.via).toBe('snapshot');
    const asked = [0, ...onDisk].map((n) => (n > 0 ? [`bytes=${n}-`, 206] : [undefined, 200]));
    expect(seen.map((s) => [s.range, s.status])).toEqual(asked);
    expect(await expectNoHalfReplica(whole)).toBe('whole');
    expect(readdirSync(box.dir).filter((f) => f.startsWith('s.db'))).toEqual(['s.db']);
  }, 120_000);

  it('within one run, retries resume the download after each cut', async () => {
    const { hubUrl } = await seeded();
    const whole = await wholeClone(hubUrl, 'w.db');
    const { url, seen } = await cutting(hubUrl, [{ cut: 5000 }, { cut: 1 }, { cut: 30_000 }]);
    const done = await ok<{ via: string }>(['clone', url, target()], { CRSYNC_RETRIES: '4' });
    expect(done.via).toBe('snapshot');
    // Each retry asks for the rest after every byte the cut answers carried.
    expect(seen.map((s) => [s.range, s.status])).toEqual([[undefined, 200], ['bytes=5000-', 206], ['bytes=5001-', 206], ['bytes=35001-', 206]]);
    expect(await rows(target(), CHANGES)).toEqual(whole);
  }, 120_000);

  it('a rerun after the dataset moved on starts over and brings the newer state', async () => {
    const { hubUrl, a } = await seeded();
    const { url, seen } = await cutting(hubUrl, [{ cut: 20_000 }]);
    expect((await runJson(['clone', url, target()], { CRSYNC_RETRIES: '1' })).exitCode).toBe(3);
    expect(gzOnDisk()).toBe(20_000);
    await sql(a, `insert into t (id, name) values (5000, 'after the cut')`);
    await ok(['-d', a, 'push']);
    const done = await ok<{ via: string }>(['clone', url, target()]);
    expect(done.via).toBe('snapshot');
    // Range with If-Range of the old snapshot's ETag: the hub sends the new snapshot whole.
    expect(seen.map((s) => [s.range, s.status])).toEqual([[undefined, 200], ['bytes=20000-', 200]]);
    expect(await rows(target(), `select name from t where id = 5000`)).toEqual([{ name: 'after the cut' }]);
    expect(await rows(target(), CHANGES)).toEqual(await wholeClone(hubUrl, 'w.db'));
  }, 120_000);

  it('the client SIGKILLed at several byte counts: never a half replica, and the rerun finishes', async () => {
    const { hubUrl } = await seeded();
    const whole = await wholeClone(hubUrl, 'w.db');
    // The whole answer's size, to kill at its very end too.
    const probe = await cutting(hubUrl, []);
    expect((await ok<{ via: string }>(['clone', probe.url, box.path('p.db')])).via).toBe('snapshot');
    const size = probe.seen[0]!.sent;
    expect(size).toBeGreaterThan(100_000);
    proxy?.closeAllConnections();
    await new Promise((r) => proxy!.close(r));

    let child: ReturnType<typeof spawnCli> | undefined;
    let killAt = 0;
    // The kill lands once the client has written what it was sent (or has moved past the download).
    const killOnDisk = async (): Promise<void> => {
      const until = Date.now() + 10_000;
      const past = (): boolean => gzOnDisk() >= killAt || existsSync(`${target()}.partial`) || existsSync(target());
      while (Date.now() < until && !past()) await new Promise((r) => setTimeout(r, 2));
      child?.kill('SIGKILL');
    };
    const kills = [1, 10_000, size >> 1, size];
    const { url, seen } = await cutting(hubUrl, kills.map((kill) => ({ kill })), () => void killOnDisk());
    const outcomes: string[] = [];
    for (const k of kills) {
      killAt = Math.min(size, gzOnDisk() + k);
      child = spawnCli(['clone', url, target()]);
      const res = await child;
      // Killed, or (at the very end) finished before the signal landed.
      expect(res.signal === 'SIGKILL' || res.exitCode === 0, `kill after ${k}: exit ${res.exitCode}\n${res.stdout}${res.stderr}`).toBe(true);
      outcomes.push(await expectNoHalfReplica(whole));
      if (outcomes.at(-1) === 'whole') break;
    }
    expect(outcomes.slice(0, 3)).toEqual(['absent', 'absent', 'absent']);
    // Every rerun resumed from all the bytes the killed runs had received: 1, then 10,001, ...
    const starts = seen.slice(1).map((s) => s.range);
    expect(starts.slice(0, 3)).toEqual(['bytes=1-', 'bytes=10001-', `bytes=${10_001 + (size >> 1)}-`]);
    if (!existsSync(target())) expect(await ok<{ via: string }>(['clone', url, target()])).toMatchObject({ via: 'snapshot' });
    expect(await expectNoHalfReplica(whole)).toBe('whole');
  }, 120_000);

  it('a client killed while it adopted the copy: its hot journal is not rolled back into the next one', async () => {
    const { hubUrl, a } = await seeded();
    // What a kill in the middle of adopting leaves: <file>.partial and a hot journal beside it
    // (a real SQLite writer SIGKILLed inside its transaction; a snapshot is in rollback-journal mode).
    await wholeClone(hubUrl, 'old.db');
    copyFileSync(box.path('old.db'), `${target()}.partial`);
    const writer = `const D = require('better-sqlite3'); const d = new D(process.argv[1]); d.pragma('journal_mode = DELETE'); d.pragma('cache_size = 1');
      d.exec('BEGIN; DELETE FROM t__crsql_clock; DELETE FROM t__crsql_pks; DELETE FROM crsync_txlog'); process.kill(process.pid, 'SIGKILL');`;
    expect((await execa('node', ['-e', writer, `${target()}.partial`], { reject: false })).signal).toBe('SIGKILL');
    expect(statSync(`${target()}.partial-journal`).size).toBeGreaterThan(0);
    // The dataset moves on, so the next copy differs from the one the journal was made against.
    await sql(a, `update t set name = 'moved on' where id % 3 = 0`);
    await ok(['-d', a, 'push']);
    const done = await ok<{ via: string }>(['clone', hubUrl + '/shop', target()]);
    expect(done.via).toBe('snapshot');
    expect(await rows(target(), 'pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(await rows(target(), CHANGES)).toEqual(await wholeClone(hubUrl, 'w.db'));
    expect(readdirSync(box.dir).filter((f) => f.startsWith('s.db'))).toEqual(['s.db']);
  }, 120_000);
});
