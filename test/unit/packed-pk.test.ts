import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { packedPkProblem, unpackPk } from '../../src/db/changes/packed-pk.js';
import { extensionPath } from '../../src/db/extension.js';
import type { SqlValue } from '../../src/values.js';

// crsync decodes cr-sqlite's packed keys in JS (the PostgreSQL store's conflicts and snapshots):
// every key must read back as cr-sqlite's own crsql_unpack_columns reads it.
describe('packed primary keys', () => {
  it('decode as cr-sqlite packs them: integers at every byte width and sign, reals, text and blobs of every length width', () => {
    const db = new Database(':memory:');
    db.loadExtension(extensionPath());
    try {
      const ints = [0n, 1n, 127n, 128n, 255n, 256n, 32767n, 32768n, 65535n, 65536n, 2n ** 31n, 2n ** 32n, 2n ** 55n, 2n ** 56n, 2n ** 63n - 1n, -1n, -128n, -129n, -(2n ** 63n)];
      const keys: SqlValue[][] = [
        ...ints.map((i) => [i]),
        [1.5],
        [-0.25],
        ['a'],
        ['é'.repeat(70)],
        ['x'.repeat(200)],
        ['y'.repeat(40_000)],
        [Buffer.from([0, 1, 255])],
        [Buffer.alloc(300, 7)],
        [7n, 'two', Buffer.from([9])],
      ];
      for (const key of keys) {
        const pk = db.prepare(`SELECT crsql_pack_columns(${key.map(() => '?').join(', ')})`).pluck().get(...key) as Buffer;
        const theirs = db.prepare('SELECT cell FROM crsql_unpack_columns(?)').pluck().safeIntegers(true).all(pk);
        expect(unpackPk(pk), pk.toString('hex')).toEqual(theirs);
        expect(unpackPk(pk)).toEqual(key);
        expect(packedPkProblem(pk, key.length)).toBeNull();
      }
    } finally {
      db.prepare('SELECT crsql_finalize()').run();
      db.close();
    }
  });
});
