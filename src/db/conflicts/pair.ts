import type { WireResolution } from '../../sync/protocol/types.js';

/**
 * A conflict named by its pair of writes, the same on every replica whichever side each saw
 * first: `a` is the lesser write (site bytes, then version). An update_update is one cell's two
 * (site, col_version); a delete_update is one row's two lives (causal lengths), sites left
 * empty, as the conflict store matches it (each side may name another site for the live row).
 * Stored in crsync_resolutions with '' for no column and empty blobs for no site.
 */
export interface WritePair {
  table: string;
  pk: Buffer;
  cid: string;
  kind: 'update_update' | 'delete_update';
  aSite: Buffer;
  aVersion: bigint;
  bSite: Buffer;
  bVersion: bigint;
}

/** What a conflict record holds of its two writes. */
export interface ConflictWrites {
  table: string;
  pk: Uint8Array;
  cid: string | null;
  kind: 'update_update' | 'delete_update';
  oursSite: Uint8Array | null;
  theirsSite: Uint8Array | null;
  oursColVersion: bigint | null;
  theirsColVersion: bigint | null;
}

const NONE = Buffer.alloc(0);

/** The pair of a conflict, or null when the record lacks its versions (nothing to name it by). */
export function pairOf(c: ConflictWrites): WritePair | null {
  if (c.oursColVersion === null || c.theirsColVersion === null) return null;
  const pk = Buffer.from(c.pk);
  if (c.kind === 'delete_update') {
    const [lo, hi] = c.oursColVersion <= c.theirsColVersion ? [c.oursColVersion, c.theirsColVersion] : [c.theirsColVersion, c.oursColVersion];
    return { table: c.table, pk, cid: '', kind: c.kind, aSite: NONE, aVersion: lo, bSite: NONE, bVersion: hi };
  }
  if (!c.oursSite || !c.theirsSite || c.cid === null) return null;
  const ours = { site: Buffer.from(c.oursSite), version: c.oursColVersion };
  const theirs = { site: Buffer.from(c.theirsSite), version: c.theirsColVersion };
  const order = Buffer.compare(ours.site, theirs.site) || (ours.version < theirs.version ? -1 : ours.version > theirs.version ? 1 : 0);
  const [a, b] = order <= 0 ? [ours, theirs] : [theirs, ours];
  return { table: c.table, pk, cid: c.cid, kind: c.kind, aSite: a.site, aVersion: a.version, bSite: b.site, bVersion: b.version };
}

/** The pair a resolution from the wire names. */
export function pairOfWire(r: WireResolution): WritePair {
  return {
    table: r.table,
    pk: Buffer.from(r.pk),
    cid: r.cid ?? '',
    kind: r.kind,
    aSite: r.aSite ? Buffer.from(r.aSite) : NONE,
    aVersion: r.aVersion,
    bSite: r.bSite ? Buffer.from(r.bSite) : NONE,
    bVersion: r.bVersion,
  };
}

/** The pair as the wire spells it (null column and sites for a delete_update). */
export function pairToWire(p: WritePair): Pick<WireResolution, 'table' | 'pk' | 'cid' | 'kind' | 'aSite' | 'aVersion' | 'bSite' | 'bVersion'> {
  const du = p.kind === 'delete_update';
  return { table: p.table, pk: p.pk, cid: du ? null : p.cid, kind: p.kind, aSite: du ? null : p.aSite, aVersion: p.aVersion, bSite: du ? null : p.bSite, bVersion: p.bVersion };
}

/** The label a replica gives a conflict another site resolved, in its own orientation. */
export function resolutionLabel(choice: WireResolution['choice'], winner: 'ours' | 'theirs'): 'ours' | 'theirs' | 'value' {
  if (choice === 'value') return 'value';
  if (choice === 'winner') return winner;
  return winner === 'ours' ? 'theirs' : 'ours';
}

/** SQL that matches a crsync_conflicts row to a pair (either orientation); binds `pairArgs`. */
export const MATCH_PAIR = `tbl = ? AND pk = ? AND kind = ? AND (
  (kind = 'delete_update' AND ((ours_col_version = ? AND theirs_col_version = ?) OR (ours_col_version = ? AND theirs_col_version = ?)))
  OR (kind = 'update_update' AND cid = ? AND (
    (ours_site = ? AND ours_col_version = ? AND theirs_site = ? AND theirs_col_version = ?)
    OR (ours_site = ? AND ours_col_version = ? AND theirs_site = ? AND theirs_col_version = ?))))`;

/** Arguments for MATCH_PAIR. */
export function pairArgs(p: WritePair): unknown[] {
  return [
    p.table, p.pk, p.kind,
    p.aVersion, p.bVersion, p.bVersion, p.aVersion,
    p.cid,
    p.aSite, p.aVersion, p.bSite, p.bVersion,
    p.bSite, p.bVersion, p.aSite, p.aVersion,
  ];
}
