import type { WireResolution } from './types.js';

/** A resolution in frame form: binary as hex, 64-bit integers as decimal strings. */
export interface WireResolutionJson {
  table: string;
  pk: string;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  aSite: string | null;
  aVersion: string;
  bSite: string | null;
  bVersion: string;
  choice: 'winner' | 'loser' | 'value';
  value: string;
  resolver: string;
  writtenVersion: string | null;
  at: string;
}

const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString('hex') : null);
const unhex = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'hex'));

export function resolutionToJson(r: WireResolution): WireResolutionJson {
  return {
    ...r,
    pk: hex(r.pk)!,
    aSite: hex(r.aSite),
    bSite: hex(r.bSite),
    aVersion: r.aVersion.toString(),
    bVersion: r.bVersion.toString(),
    resolver: hex(r.resolver)!,
    writtenVersion: r.writtenVersion === null ? null : r.writtenVersion.toString(),
  };
}

const HEX = /^([0-9a-f]{2})+$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
/** Versions are col_versions or causal lengths: 1 .. 2^53 - 1, as every version on the wire. */
const VERSION = /^[1-9]\d{0,15}$/;
const MAX_VERSION = 2n ** 53n - 1n;
/** A kept value is one cell or one row: at most the protocol's largest frame. */
const MAX_VALUE_CHARS = 64 * 1024 * 1024;

const site = (x: unknown): x is string => typeof x === 'string' && x.length === 32 && HEX.test(x);
const version = (x: unknown): x is string => typeof x === 'string' && VERSION.test(x) && BigInt(x) <= MAX_VERSION;

/**
 * Checks a resolution from the wire field by field (it comes from another machine and names
 * rows to close conflicts of); null when anything is malformed.
 */
export function resolutionFromJson(v: unknown): WireResolution | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const r = v as Partial<WireResolutionJson>;
  const pair =
    r.kind === 'update_update'
      ? typeof r.cid === 'string' && site(r.aSite) && site(r.bSite)
      : r.kind === 'delete_update' && r.cid === null && r.aSite === null && r.bSite === null;
  const ok =
    pair &&
    typeof r.table === 'string' && r.table.length > 0 &&
    typeof r.pk === 'string' && HEX.test(r.pk) &&
    version(r.aVersion) && version(r.bVersion) &&
    (r.choice === 'winner' || r.choice === 'loser' || r.choice === 'value') &&
    typeof r.value === 'string' && r.value.length <= MAX_VALUE_CHARS &&
    site(r.resolver) &&
    (r.writtenVersion === null || version(r.writtenVersion)) &&
    typeof r.at === 'string' && ISO.test(r.at);
  if (!ok) return null;
  return {
    table: r.table!,
    pk: unhex(r.pk!)!,
    cid: r.cid ?? null,
    kind: r.kind!,
    aSite: unhex(r.aSite ?? null),
    aVersion: BigInt(r.aVersion!),
    bSite: unhex(r.bSite ?? null),
    bVersion: BigInt(r.bVersion!),
    choice: r.choice!,
    value: r.value!,
    resolver: unhex(r.resolver!)!,
    writtenVersion: r.writtenVersion == null ? null : BigInt(r.writtenVersion),
    at: r.at!,
  };
}
