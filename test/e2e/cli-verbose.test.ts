import { describe, expect, it } from 'vitest';
import { makeReplica, ok, run, sandbox, sql } from './sync-helpers.js';

const tmp = sandbox('crsync-verbose-');

/** One request line of -v: method, path, status (or why none came), bytes each way, time. */
const LINE = /^http (GET|POST) (\/v1\/\S*) (\d{3}|no answer \(\w+\)), sent \d+(\.\d)? (B|KiB|MiB), received \d+(\.\d)? (B|KiB|MiB), \d+ ms$/;

/** The request lines of a run's stderr, as [method, path, status]. */
function requests(stderr: string): string[][] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('http '))
    .map((l) => {
      const m = LINE.exec(l);
      if (!m) throw new Error(`not a request line: ${l}`);
      return [m[1]!, m[2]!.replace(/\?.*/, ''), m[3]!];
    });
}

/** Request lines; the first two (the totals' count and record of us, asked at once) in sorted order. */
function totalsSorted(stderr: string): string[] {
  const lines = requests(stderr).map((r) => r.join(' '));
  return [...lines.slice(0, 2).sort(), ...lines.slice(2)];
}

describe('-v, --verbose', () => {
  it('prints one stderr line per HTTP request (method, path, status, bytes, ms) for push, pull, sync, clone, status and remote', async () => {
    const h = await tmp.hub();
    const [a, b] = [tmp.path('a.db'), tmp.path('b.db')];
    await makeReplica(a);
    await sql(a, "insert into t (id, name) values (1, 'one')");
    await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);

    // A push that creates: the count and the record of us for the totals (at once: either may
    // end first), info (404), then the snapshot upload.
    const push = await run(['-d', a, 'push', '--create', '-v', '--json']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ sent: 4, created: true, via: 'snapshot' });
    const pushed = requests(push.stderr);
    expect(pushed.slice(0, 2).map((r) => r.join(' ')).sort()).toEqual(['GET /v1/datasets/shop 404', 'GET /v1/datasets/shop/changes 404']);
    expect(pushed.slice(2)).toEqual([
      ['GET', '/v1/datasets/shop', '404'],
      ['POST', '/v1/datasets/shop/snapshot', '200'],
    ]);
    // Per-step detail with timings around the requests.
    expect(push.stderr).toMatch(/^push origin: to push 4, to pull unknown, counted \(\d+ ms\)$/m);
    expect(push.stderr).toMatch(/^push origin: http:\/\/\S+\/shop, sent 4, received 0, \d+ bytes, \d+ ms in the engine$/m);

    const clone = await run(['clone', `${h.url}/shop`, b, '-v']);
    expect(clone.exitCode, clone.stderr).toBe(0);
    expect(requests(clone.stderr)).toEqual([
      ['GET', '/v1/datasets/shop/changes', '200'],
      ['GET', '/v1/datasets/shop/snapshot', '200'],
    ]);
    expect(clone.stderr).toMatch(/^clone \S+: \S+b\.db via snapshot, 4 changes, \d+ bytes \(\d+ ms\)$/m);

    await sql(b, "insert into t (id, name) values (2, 'two')");
    const sync = await run(['-d', b, 'sync', '-v']);
    expect(sync.exitCode, sync.stderr).toBe(0);
    // The totals (count and record of us), then the pull (info, changes), then the push (info, pages).
    expect(totalsSorted(sync.stderr)).toEqual([
      'GET /v1/datasets/shop 200',
      'GET /v1/datasets/shop/changes 200',
      'GET /v1/datasets/shop 200',
      'GET /v1/datasets/shop/changes 200',
      'GET /v1/datasets/shop 200',
      'POST /v1/datasets/shop/changes 200',
    ]);
    const pull = await run(['-d', a, 'pull', '-v']);
    expect(totalsSorted(pull.stderr)).toEqual(['GET /v1/datasets/shop 200', 'GET /v1/datasets/shop/changes 200', 'GET /v1/datasets/shop 200', 'GET /v1/datasets/shop/changes 200']);
    expect(pull.stdout).toContain('received 4 changes');

    const status = await run(['-d', a, 'status', '-v']);
    expect(status.exitCode).toBe(0);
    expect(requests(status.stderr).length).toBeGreaterThanOrEqual(1);
    expect(status.stderr).toMatch(/^status: 1 remote asked \(\d+ ms\)$/m);
    const datasets = await run(['remote', 'datasets', h.url, '-v']);
    expect(requests(datasets.stderr)).toEqual([['GET', '/v1/datasets', '200']]);
  });

  it('says when a request got no answer; nothing under --quiet; never on stdout', async () => {
    const a = tmp.path('a.db');
    await makeReplica(a);
    await ok(['-d', a, 'remote', 'add', 'origin', 'http://127.0.0.1:9/shop']);
    const down = await run(['-d', a, 'pull', '-v', '--json'], { CRSYNC_RETRIES: '1' });
    expect(down.exitCode).toBe(3);
    expect(JSON.parse(down.stdout)).toMatchObject({ error: { code: 'remote_unreachable' } });
    expect(requests(down.stderr)).toContainEqual(['GET', '/v1/datasets/shop', 'no answer (ECONNREFUSED)']);

    const quiet = await run(['-d', a, 'pull', '-v', '-q'], { CRSYNC_RETRIES: '1' });
    expect(quiet.exitCode).toBe(3);
    expect(quiet.stderr).not.toMatch(/^http /m);
    expect(quiet.stderr).toMatch(/^error: /m);
    const plain = await run(['-d', a, 'pull'], { CRSYNC_RETRIES: '1' });
    expect(plain.stderr).not.toMatch(/^http /m);
  });
});
