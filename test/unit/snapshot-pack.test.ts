import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { packSnapshot } from '../../src/sync/protocol/snapshot-pack.js';
import { tempDir } from '../helpers.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('packSnapshot', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => tmp?.cleanup());

  it('gzips a file in members that any gunzip reads back as the file, with the hashes of both', async () => {
    tmp = tempDir('crsync-pack-');
    // Compressible and not: text-like runs and random bytes, over several members and a short last one.
    const parts: Buffer[] = [];
    for (let i = 0; i < 40; i++) parts.push(i % 3 === 0 ? randomBytes(50_000) : Buffer.from(`row ${i} `.repeat(9_000)));
    const raw = Buffer.concat(parts);
    writeFileSync(tmp.path('raw'), raw);
    const packed = await packSnapshot(tmp.path('raw'), tmp.path('raw.gz'), 300_000);
    const gz = readFileSync(tmp.path('raw.gz'));
    expect(packed).toEqual({ gzBytes: gz.length, gzSha256: sha(gz), rawBytes: raw.length, rawSha256: sha(raw) });
    // Several members: each starts with gzip's magic and header (1f 8b 08).
    let members = 0;
    for (let i = gz.indexOf('1f8b08', 0, 'hex'); i !== -1; i = gz.indexOf('1f8b08', i + 1, 'hex')) members++;
    expect(members).toBeGreaterThanOrEqual(Math.ceil(raw.length / 300_000));
    expect(gunzipSync(gz).equals(raw)).toBe(true);
    expect(execFileSync('gzip', ['-dc', tmp.path('raw.gz')], { maxBuffer: 64 * 2 ** 20 }).equals(raw)).toBe(true);
    // The member files are gone; only the input and the gzip are left.
    expect(readdirSync(tmp.dir).sort()).toEqual(['raw', 'raw.gz']);
  });

  it('makes valid gzip of an empty file', async () => {
    tmp = tempDir('crsync-pack-');
    writeFileSync(tmp.path('raw'), '');
    const packed = await packSnapshot(tmp.path('raw'), tmp.path('raw.gz'));
    expect(packed.rawBytes).toBe(0);
    expect(gunzipSync(readFileSync(tmp.path('raw.gz'))).length).toBe(0);
  });
});
