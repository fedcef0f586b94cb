import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeEnd, encodeHeader, encodePage, readFrames } from '../../src/sync/protocol/codec.js';
import { PROTOCOL_FRAME_LIMITS } from '../../src/sync/protocol/limits.js';
import type { Change } from '../../src/sync/protocol/types.js';
import { parseSqlJson, stringifySqlJson, sqlValuesEqual, fromJsonValue, formatReal } from '../../src/values.js';
import { parseCsvField, csvRecord } from '../../src/formats/csv-write.js';
import { splitStatements } from '../../src/db/sql.js';
import { CrsyncError } from '../../src/errors.js';

const site = Buffer.alloc(16, 7);
const values = [null, 0n, -1n, 9223372036854775807n, -9223372036854775808n, 3.0, -0.5, 1e300, 'text', '', 'ünï😀', Buffer.from([0, 255]), Buffer.alloc(0)];

function change(v: Change[3], i: number): Change {
  return ['t', Buffer.from([1, 9, i]), 'c', v, 1n, BigInt(i + 1), site, 1n, 0n];
}

describe('frame codec', () => {
  it('round-trips every SQLite value with its exact type', async () => {
    const changes = values.map((v, i) => change(v, i));
    const bytes = Buffer.concat([
      encodeHeader({ site, schemaHash: 'abc', seen: 5n }),
      encodePage({ changes, cursor: { version: 99n, seq: 3n } }),
      encodeEnd({ cursor: { version: 99n, seq: 3n }, changes: changes.length }),
    ]);
    // Feed it in awkward 3-byte chunks to exercise reassembly.
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 3) yield bytes.subarray(i, i + 3);
    }
    const frames = [];
    for await (const f of readFrames(chunks())) frames.push(f);
    expect(frames.map((f) => f.type)).toEqual(['header', 'page', 'end']);
    const page = frames[1]!.type === 'page' ? frames[1]!.page : undefined;
    expect(page!.cursor).toEqual({ version: 99n, seq: 3n });
    page!.changes.forEach((c, i) => {
      expect(sqlValuesEqual(c[3], values[i]!)).toBe(true);
      expect(typeof c[3]).toBe(typeof values[i]);
    });
    // REAL 3.0 stays a number (REAL), INTEGER 0 stays a bigint (INTEGER).
    expect(page!.changes[5]![3]).toBe(3);
    expect(page!.changes[1]![3]).toBe(0n);
  });

  it('reports a stream cut inside a frame as truncated', async () => {
    const bytes = encodePage({ changes: [change('x', 0)], cursor: { version: 1n, seq: 0n } });
    async function* cut() {
      yield bytes.subarray(0, bytes.length - 2);
    }
    await expect(async () => {
      for await (const _ of readFrames(cut())) void _;
    }).rejects.toThrowError(/cut inside a frame/);
  });

  it('rejects garbage and oversized frames', async () => {
    expect(() => decodeFrame(Buffer.from([0xc1]))).toThrowError(CrsyncError);
    const big = Buffer.alloc(8);
    big.writeUInt32BE(1 << 30, 0);
    async function* one() {
      yield big;
    }
    await expect(async () => {
      for await (const _ of readFrames(one(), { ...PROTOCOL_FRAME_LIMITS, maxFrameBytes: 1024 })) void _;
    }).rejects.toThrowError(/exceeds the limit/);
  });
});

describe('JSON and CSV values', () => {
  it('JSON keeps INTEGER vs REAL, 64-bit integers and blobs', () => {
    const row = { i: 9007199254740993n, r: 3.0, t: '', n: null, b: Buffer.from('hi') };
    const text = stringifySqlJson({ ...row, b: { $blob: '6869' } });
    expect(text).toBe('{"i":9007199254740993,"r":3.0,"t":"","n":null,"b":{"$blob":"6869"}}');
    const back = parseSqlJson(text) as Record<string, unknown>;
    expect(back.i).toBe(9007199254740993n);
    expect(back.r).toBe(3);
    expect(typeof back.r).toBe('number');
    expect(fromJsonValue(back.b)).toEqual(Buffer.from('hi'));
    expect(formatReal(Infinity)).toBe('1e999');
  });

  it('CSV keeps types in the quoting', () => {
    expect(csvRecord([1n, 2.0, 'a"b', '', null, Buffer.from([1])])).toBe('1,2.0,"a""b","",,\\x01\n');
    expect(parseCsvField('', false)).toBeNull();
    expect(parseCsvField('', true)).toBe('');
    expect(parseCsvField('42', false)).toBe(42n);
    expect(parseCsvField('042', false)).toBe('042');
    expect(parseCsvField('4.5', false)).toBe(4.5);
    expect(parseCsvField('42', true)).toBe('42');
    expect(parseCsvField('\\x00ff', false)).toEqual(Buffer.from([0, 255]));
  });
});

describe('splitStatements', () => {
  it('splits at top-level semicolons only', () => {
    const sql = "INSERT INTO t VALUES ('a;b'); -- c;d\nSELECT \"x;y\" FROM t; /* e;f */ SELECT 1";
    expect(splitStatements(sql)).toHaveLength(3);
    expect(splitStatements(' ; ;\n-- only a comment\n')).toHaveLength(0);
  });
});
