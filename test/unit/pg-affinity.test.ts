import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { affinityOf, applyAffinity } from '../../src/db/affinity.js';
import type { SqlValue } from '../../src/values.js';

// The column affinity of the PostgreSQL store (src/db/affinity.ts) against SQLite's columns: every value stored in a column of
// each declared type reads back as applyAffinity says (type and value).

const TYPES = ['INTEGER', 'INT', 'BIGINT', 'TEXT', 'VARCHAR(20)', 'CLOB', 'BLOB', '', 'REAL', 'DOUBLE PRECISION', 'FLOAT', 'NUMERIC', 'NUMERIC(10,2)', 'DECIMAL', 'BOOLEAN', 'DATE', 'CHARINT', 'FLOATING POINT'];

/** A small seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function values(): SqlValue[] {
  const fixed: SqlValue[] = [
    null, 0n, -1n, 12n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 0, -0, 1.5, 3.0, 0.1, 0.1 + 0.2, 1 / 3, 1e15, 1e16, 1e17, 1e20, -1e-5, 1e-4, 0.0001234,
    2.5e-10, 5e-324, 1.7976931348623157e308, 2 ** 63, -(2 ** 63), 2 ** 63 - 1024, 2 ** 53 + 2, 123456789.12345679, Infinity, -Infinity, NaN,
    '', '12', ' 12 ', '+7', '-0', '007', '.5', '5.', '1e3', '3.0e+5', '1.5', '  -4.5e-1 ', 'abc', '12abc', '0x10', '1e', '1e+', 'e5', '.', '+', '-',
    '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '1e400', '-1e400', '1\u000b', '\u00a012', '12\u0000', '1\u00002',
    '\t3\n', '1.0', '100000000000000000000', '1.7976931348623157e308', '0.30000000000000004', 'Inf', 'NaN', '٣', Buffer.from('12'), Buffer.alloc(0),
  ];
  const rand = rng(19);
  const random: SqlValue[] = [];
  for (let i = 0; i < 400; i++) {
    const bits = new DataView(new ArrayBuffer(8));
    bits.setUint32(0, Math.floor(rand() * 2 ** 32));
    bits.setUint32(4, Math.floor(rand() * 2 ** 32));
    const r = bits.getFloat64(0);
    const scaled = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
    random.push(r, scaled, String(scaled), Math.round(scaled), String(BigInt(Math.floor(rand() * 2 ** 53)) * BigInt(Math.floor(rand() * 2 ** 20))));
  }
  return [...fixed, ...random];
}

const show = (v: SqlValue): string => (v instanceof Uint8Array ? `blob ${Buffer.from(v).toString('hex')}` : `${typeof v} ${Object.is(v, -0) ? '-0' : String(v)}`);

describe('column affinity on the PostgreSQL store', () => {
  it('converts every value as a SQLite column of the same declared type stores it', () => {
    const db = new Database(':memory:');
    db.defaultSafeIntegers(true);
    db.exec(`create table x (${TYPES.map((t, i) => `c${i} ${t}`).join(', ')})`);
    const insert = db.prepare(`insert into x values (${TYPES.map(() => '?').join(', ')})`);
    const read = db.prepare('select * from x where rowid = ?').raw(true);
    const mismatches: string[] = [];
    for (const v of values()) {
      const { lastInsertRowid } = insert.run(...TYPES.map(() => v));
      const stored = read.get(lastInsertRowid) as SqlValue[];
      TYPES.forEach((t, i) => {
        const want = stored[i]!;
        const got = applyAffinity(v, affinityOf(t));
        if (show(got) !== show(want)) mismatches.push(`${t || '(none)'} <- ${show(v)}: SQLite ${show(want)}, ours ${show(got)}`);
      });
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
