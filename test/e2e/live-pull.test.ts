import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type * as Codec from '../../src/sync/protocol/codec.js';
import { ok, sandbox, sql } from './sync-helpers.js';
import { pushedShop } from './live-helpers.js';

// The built codec, as a client of the hub would use it.
const codec = (await import(pathToFileURL(resolve(import.meta.dirname, '../../dist/sync/protocol/codec.js')).href)) as typeof Codec;

const box = sandbox('crsync-livepull-');

/** One pull from the hub: status, how long it took, and what its frames carried. */
async function pull(base: string, query: string): Promise<{ status: number; ms: number; changes: number; end: { version: bigint; seq: bigint } | undefined; code?: string }> {
  const started = performance.now();
  const r = await request(`${base}/changes?${query}`);
  if (r.statusCode !== 200) {
    const body = (await r.body.json()) as { error: { code: string } };
    return { status: r.statusCode, ms: performance.now() - started, changes: 0, end: undefined, code: body.error.code };
  }
  let changes = 0;
  let end: { version: bigint; seq: bigint } | undefined;
  for await (const f of codec.readFrames(Readable.from(r.body))) {
    if (f.type === 'page') changes += f.page.changes.length;
    if (f.type === 'end') end = f.end.cursor;
  }
  return { status: 200, ms: performance.now() - started, changes, end };
}

/** A hub with dataset `shop` made by replica a (two rows); returns the dataset URL base and the query of a site at its end. */
async function setup(extra: string[] = []) {
  const hub = await box.hub('hub', extra);
  const { a, base } = await pushedShop(box, hub.url, "insert into t (id, name) values (1, 'one'), (2, 'two')");
  const site = randomBytes(16).toString('hex');
  const first = await pull(base, `site=${site}`);
  expect(first).toMatchObject({ status: 200, changes: 8 });
  const atEnd = `site=${site}&since=${first.end!.version}&seq=${first.end!.seq}`;
  return { hub, a, base, atEnd, version: first.end!.version };
}

describe('live pull (wait=)', () => {
  it('answers at once when something is pending, holds until the wait ends when nothing is', async () => {
    const { base, atEnd } = await setup();
    const now = await pull(base, `site=${randomBytes(16).toString('hex')}&wait=5000`);
    expect(now).toMatchObject({ status: 200, changes: 8 });
    expect(now.ms).toBeLessThan(2000);
    const idle = await pull(base, `${atEnd}&wait=700`);
    expect(idle).toMatchObject({ status: 200, changes: 0 });
    expect(idle.ms).toBeGreaterThanOrEqual(650);
    expect(idle.ms).toBeLessThan(3000);
  });

  it('a held pull answers with the change as soon as a push commits it', async () => {
    const { a, base, atEnd, version } = await setup();
    const held = pull(base, `${atEnd}&wait=20000`);
    await new Promise((r) => setTimeout(r, 300));
    await sql(a, "update t set name = 'uno' where id = 1");
    await ok(['-d', a, 'push']);
    const r = await held;
    expect(r).toMatchObject({ status: 200, changes: 1 });
    expect(r.ms).toBeLessThan(15_000);
    expect(r.end!.version).toBeGreaterThan(version);
  });

  it('past --max-live, a live pull is 503 busy with Retry-After; a plain pull is still served', async () => {
    const { base, atEnd: q } = await setup(['--max-live', '1']);
    const first = pull(base, `${q}&wait=1500`);
    await new Promise((r) => setTimeout(r, 200));
    const second = await request(`${base}/changes?${q}&wait=1500`);
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    expect(((await second.body.json()) as { error: { code: string } }).error.code).toBe('busy');
    expect(await pull(base, q)).toMatchObject({ status: 200, changes: 0 });
    expect(await first).toMatchObject({ status: 200, changes: 0 });
  });

  it('a bad wait is 400; a wait above the cap is taken (pending changes still answer at once)', async () => {
    const { base } = await setup();
    const site = randomBytes(16).toString('hex');
    expect(await pull(base, `site=${site}&wait=-5`)).toMatchObject({ status: 400, code: 'bad_request' });
    expect(await pull(base, `site=${site}&wait=soon`)).toMatchObject({ status: 400, code: 'bad_request' });
    // Pending changes: answered at once whatever the wait.
    expect(await pull(base, `site=${site}&wait=99999999`)).toMatchObject({ status: 200, changes: 8 });
  });

  it('SIGTERM answers held pulls at once and the hub exits 0', async () => {
    const { hub, base, atEnd } = await setup();
    const held = pull(base, `${atEnd}&wait=25000`);
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    const stopped = hub.stop('SIGTERM');
    expect(await held).toMatchObject({ status: 200, changes: 0 });
    expect(await stopped).toBe(0);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
