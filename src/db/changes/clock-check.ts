import type { Change } from '../../sync/protocol/types.js';

/*
 * Clock sanity for incoming changes (issue 14). cr-sqlite trusts the clocks it merges:
 * - col_version and cl (causal length) are kept as they come, and every later local write adds
 *   one, so a value at 2^53 - 1 wins its cell for ever and breaks the writer's next edit;
 * - db_version only raises the receiver's clock (the merged rows get the receiver's own next
 *   version; checked: merging the same changes with db_version 1 or as sent gives the same rows
 *   and clocks), so one change at 2^53 - 1 would drag the receiver's version to the ceiling.
 */

/** Largest clock value SQLite and JavaScript both hold exactly (a change above it is refused). */
export const MAX_CLOCK = 2n ** 53n - 1n;

/**
 * Largest col_version or cl a change may carry: 2^32 increments below MAX_CLOCK, so the cell or
 * row it reaches can still be edited (or deleted and re-inserted) four billion times.
 */
export const MAX_CELL_CLOCK = MAX_CLOCK - 2n ** 32n;

/** Why a change's clocks cannot be merged, or null. */
export function clockProblem(c: Change): string | null {
  const [, , cid, , colVersion, dbVersion, , cl, seq] = c;
  if (colVersion < 1n || dbVersion < 1n || cl < 1n || seq < 0n) return 'its col_version, db_version or cl is below 1, or its seq below 0';
  if (dbVersion > MAX_CLOCK) return `its db_version is above ${MAX_CLOCK}`;
  if (colVersion > MAX_CELL_CLOCK || cl > MAX_CELL_CLOCK) return `its col_version or cl is above ${MAX_CELL_CLOCK} (no replica counts this far)`;
  // A row marker's version is its causal length; one that disagrees deletes or revives the row
  // on the receiver alone (cr-sqlite records it as another life than it applies).
  if (cid === '-1' && colVersion !== cl) return `its row marker has col_version ${colVersion} but causal length ${cl}`;
  return null;
}

/**
 * Lowers every incoming db_version to at most one past the receiver's `current` version, in
 * place: the merge then gives the rows the receiver's next version as always, and no sender can
 * move the receiver's clock further than its own next transaction would.
 */
export function boundDbVersions(changes: Change[], current: bigint): void {
  const cap = current + 1n;
  for (const c of changes) if (c[5] > cap) c[5] = cap;
}
