import { expect, it } from 'vitest';
import { acceptsGzip } from '../../src/server/encoding.js';

it('Accept-Encoding is read as RFC 9110 says: case-insensitive, q=0 refuses, * stands for the rest', () => {
  const cases: [string, boolean][] = [
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['gzip;q=0', false],
    ['gzip; q=0.0', false],
    ['br, gzip;q=0.5', true],
    ['*', true],
    ['*;q=0', false],
    ['*, gzip;q=0', false],
    ['identity', false],
    ['', false],
    ['gzipped', false],
  ];
  for (const [header, want] of cases) expect([header, acceptsGzip(header)]).toEqual([header, want]);
});
