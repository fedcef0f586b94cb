import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeResolutions } from '../../src/sync/protocol/codec.js';
import type { WireResolution } from '../../src/sync/protocol/types.js';
import { Encoder } from '@msgpack/msgpack';

const site = (b: number): Buffer => Buffer.alloc(16, b);
const base: WireResolution = {
  table: 'items', pk: Buffer.from('010901', 'hex'), cid: 'name', kind: 'update_update',
  aSite: site(1), aVersion: 2n, bSite: site(2), bVersion: 2n, choice: 'winner', value: '"from-b"',
  resolver: site(2), writtenVersion: null, at: '2024-05-01T10:00:00.000Z',
};
const payload = (f: Buffer): Buffer => f.subarray(4);
const raw = (v: unknown): Uint8Array => new Encoder().encode(['r', [v], 0]);

describe('resolution frames', () => {
  it('round-trip every field exactly, a delete_update named by its lives only', () => {
    const du: WireResolution = { ...base, kind: 'delete_update', cid: null, aSite: null, bSite: null, aVersion: 1n, bVersion: 2n, choice: 'value', value: '{"qty":3}', writtenVersion: null };
    const f = decodeFrame(payload(encodeResolutions([base, { ...base, writtenVersion: 3n, choice: 'loser' }, du], 7n)));
    expect(f).toEqual({ type: 'resolutions', resolutions: [base, { ...base, writtenVersion: 3n, choice: 'loser' }, du], lastId: 7n });
  });

  it('refuse malformed records (bad_stream), field by field', () => {
    const good = JSON.parse(JSON.stringify({ ...base, pk: '010901', aSite: '01'.repeat(16), bSite: '02'.repeat(16), resolver: '02'.repeat(16), aVersion: '2', bVersion: '2' }));
    expect(decodeFrame(raw(good))).toMatchObject({ type: 'resolutions' });
    for (const bad of [
      { aSite: '01' }, { resolver: 'zz'.repeat(16) }, { aVersion: '0' }, { bVersion: '-1' }, { aVersion: '9007199254740992' },
      { choice: 'both' }, { kind: 'other' }, { cid: null }, { pk: '' }, { table: '' }, { value: 3 }, { at: 'yesterday' },
      { writtenVersion: 'x' }, { kind: 'delete_update', cid: null },
    ]) {
      expect(() => decodeFrame(raw({ ...good, ...bad })), JSON.stringify(bad)).toThrow(/resolution record is malformed/);
    }
    expect(() => decodeFrame(raw('not a map'))).toThrow(/malformed/);
  });
});
