import { isUtf8 } from 'node:buffer';
import type { SqlValue } from '../../values.js';

/**
 * Checks a primary key in cr-sqlite's packed form (crsql_pack_columns) before it reaches the
 * extension, whose unpacking trusts its input (an empty or cut-off key aborts the process):
 *   [column count: u8] then per column a tag byte, low 3 bits the type, high 5 bits a byte
 *   count n, followed by
 *     INTEGER (1): the value, n bytes big-endian (n <= 8; n = 0 is 0): two's complement in 8
 *       bytes (every negative value takes 8), unsigned in fewer (128 packs as the one byte 0x80)
 *     REAL (2): 8 bytes IEEE 754 big-endian
 *     TEXT (3) / BLOB (4): the length in n bytes big-endian (as an integer), then that many bytes (TEXT in UTF-8)
 *     NULL (5): nothing (never valid in a key: key columns are NOT NULL)
 * Returns why the key is unusable, or null when it is a well-formed key of `columns` values.
 */
export function packedPkProblem(pk: Uint8Array, columns: number): string | null {
  if (pk.length === 0) return 'the primary key is empty';
  if (pk[0] !== columns) return `the primary key packs ${pk[0]} values, the table has ${columns} key column(s)`;
  let at = 1;
  const readInt = (n: number): bigint | null => {
    if (n > 8 || at + n > pk.length) return null;
    const v = packedInt(pk, at, n);
    at += n;
    return v;
  };
  for (let col = 0; col < columns; col++) {
    if (at >= pk.length) return 'the primary key is cut short';
    const tag = pk[at++]!;
    const type = tag & 0x07;
    const n = tag >> 3;
    if (type === 1) {
      if (readInt(n) === null) return 'a primary-key integer is malformed';
    } else if (type === 2) {
      if (at + 8 > pk.length) return 'a primary-key real is cut short';
      at += 8;
    } else if (type === 3 || type === 4) {
      const len = readInt(n);
      if (len === null || len < 0n || at + Number(len) > pk.length) return 'a primary-key text or blob has a bad length';
      if (type === 3 && !isUtf8(pk.subarray(at, at + Number(len)))) return 'a primary-key text is not UTF-8';
      at += Number(len);
    } else if (type === 5) {
      return 'a primary-key value is NULL';
    } else {
      return `a primary-key value has unknown type ${type}`;
    }
  }
  return at === pk.length ? null : 'the primary key has trailing bytes';
}

/**
 * An integer of a packed key: n bytes big-endian, signed only in 8 bytes. cr-sqlite writes a
 * value in the fewest bytes that hold it unsigned (a negative one always in 8) and reads it back
 * without sign extension (bytes 1.2's get_int), so 0x80 in one byte is 128, not -128.
 */
function packedInt(b: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(b[at + i]!);
  if (n === 8 && b[at]! & 0x80) v -= 1n << 64n;
  return v;
}

/**
 * The values of a packed primary key, in key order. The key was checked when it came in (a hub
 * refuses malformed keys, packedPkProblem), so this only decodes.
 */
export function unpackPk(pk: Uint8Array): SqlValue[] {
  const buf = Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength);
  const out: SqlValue[] = [];
  let at = 1;
  const readInt = (n: number): bigint => {
    const v = packedInt(buf, at, n);
    at += n;
    return v;
  };
  for (let col = 0; col < (buf[0] ?? 0); col++) {
    const tag = buf[at++]!;
    const type = tag & 0x07;
    const n = tag >> 3;
    if (type === 1) out.push(readInt(n));
    else if (type === 2) {
      out.push(buf.readDoubleBE(at));
      at += 8;
    } else if (type === 3 || type === 4) {
      const len = Number(readInt(n));
      const bytes = buf.subarray(at, at + len);
      out.push(type === 3 ? bytes.toString('utf8') : Buffer.from(bytes));
      at += len;
    } else out.push(null);
  }
  return out;
}
