import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, tempDir, type Hub } from '../helpers.js';
import { makeReplica, ok, sql } from './sync-helpers.js';
import { call, codec, snapshot } from './hostile-helpers.js';

// Hostile payloads that used to crash, stall or brick a hub (issue 14): each is refused with a
// 4xx quickly, the hub keeps answering, and the dataset stays usable.

let tmp: ReturnType<typeof tempDir>;
let h: Hub;
let hubFile: string;
let base: string;
const site = randomBytes(16);
const FRAMES = { 'content-type': 'application/vnd.crsync.frames+msgpack' };

beforeAll(async () => {
  tmp = tempDir('crsync-hostile-input-');
  h = await startHub(tmp.path('hub'));
  const a = tmp.path('a.db');
  await makeReplica(a);
  await sql(a, "insert into t values (1, 'one', 1, 1.5, x'01'), (2, 'two', 2, null, null)");
  await ok(['-d', a, 'remote', 'add', 'origin', `${h.url}/shop`]);
  await ok(['-d', a, 'push']);
  hubFile = tmp.path('hub/shop.db');
  base = `${h.url}/v1/datasets`;
});

afterAll(async () => {
  await h.stop();
  tmp.cleanup();
});

/** Peak resident memory of the hub process so far, in MiB (Linux). */
function hubPeakMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${h.proc.pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

const push = (body: Buffer, headers: Record<string, string> = {}) => call(`${base}/shop/changes`, { method: 'POST', body, headers: { ...FRAMES, ...headers } });

/** A frame holding a page whose one change's value is `depth` arrays deep. */
function deepPage(depth: number): Buffer {
  const head = Buffer.from([0x96, 0xa1, 0x70, 0x91, 0xa1, 0x74, 0x91, 0xc4, 16, ...site, 0x91, 0x99, 0xc4, 3, 1, 9, 1, 0xa4, ...Buffer.from('name')]);
  const tail = Buffer.from([0xc0, 1, 1, 0, 1, 0, 1, 0]);
  const payload = Buffer.concat([head, Buffer.alloc(depth, 0x91), tail]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}

describe('decoding is bounded before anything is built', () => {
  it('a 31 KB gzipped page nested 32 million arrays deep is refused at once; health answers meanwhile', async () => {
    const before = snapshot(hubFile);
    const body = gzipSync(Buffer.concat([codec.encodeHeader({ site, schemaHash: 'x', seen: 0n }), deepPage(32_000_000)]), { level: 9 });
    expect(body.length).toBeLessThan(64 * 1024);
    const started = Date.now();
    const answer = push(body, { 'content-encoding': 'gzip' });
    const health = await call(`${h.url}/v1/health`);
    const a = await answer;
    expect({ status: a.status, code: a.json.error?.code }).toEqual({ status: 400, code: 'bad_stream' });
    expect(health.status).toBe(200);
    // Was 58 s and a heap-out-of-memory crash; gunzip of 32 MB and a scan take well under this.
    expect(Date.now() - started).toBeLessThan(10_000);
    // Was 4.5 GB: the 32 MB frame itself is all it holds.
    expect(hubPeakMiB()).toBeLessThan(400);
    expect(snapshot(hubFile)).toEqual(before);
  });

  it('lying lengths and nested maps are refused with bad_stream', async () => {
    const header = codec.encodeHeader({ site, schemaHash: 'x', seen: 0n });
    const frame = (payload: number[]): Buffer => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(payload.length);
      return Buffer.concat([len, Buffer.from(payload)]);
    };
    const cases: [string, number[]][] = [
      ['an array claiming 4 billion rows', [0x96, 0xa1, 0x70, 0x90, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff, 0, 0]],
      ['a string claiming 4 GiB', [0x96, 0xa1, 0x70, 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x90, 0x90, 0, 0]],
      ['a map as a change field', [0x96, 0xa1, 0x70, 0x90, 0x90, 0x91, 0x99, 0x81, 0xa1, 0x61, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
      ['a conflict record nested', [0x93, 0xa1, 0x63, 0x91, 0x81, 0xa1, 0x61, 0x91, 0x91, 0x90, 0]],
      ['a header with an array field', [0x94, 0xa1, 0x68, 0x91, 0x90, 0xa1, 0x78, 0]],
    ];
    for (const [what, payload] of cases) {
      const a = await push(Buffer.concat([header, frame(payload)]));
      expect({ what, status: a.status, code: a.json.error?.code }).toEqual({ what, status: 400, code: 'bad_stream' });
    }
    expect((await call(`${base}/shop`)).status).toBe(200);
  });
});

