import { toJsonValue, type SqlValue } from '../../values.js';
import { primaryKeyColumns, tableExists } from '../schema/read.js';
import { quoteIdent, siteId, type Db } from '../store.js';
import { requireConflicts, unpackPk, type ConflictView } from './list.js';

/** One side of a conflict in full: its value and who wrote it. */
export interface ConflictSide {
  value: unknown;
  siteId: string | null;
  /** True when this replica wrote it. */
  local: boolean;
  /** The remote with that site, or the one the write came through; null for a local write. */
  remote: string | null;
  /** col_version of the write (causal length of the row's life for delete_update). */
  version: string | null;
}

/** Result of `crsync conflicts show <id>`. */
export interface ConflictDetail {
  conflict: ConflictView;
  ours: ConflictSide;
  theirs: ConflictSide;
  /** The cell's value now (the row object for delete_update); null when the row is gone. */
  current: { exists: boolean; value: unknown };
  /** Commands that resolve it (empty once resolved). */
  resolveWith: string[];
}

/** Both sides of one conflict in full, the current value and how to resolve it. */
export function showConflict(db: Db, id: number): ConflictDetail {
  const [c] = requireConflicts(db, [id]);
  const raw = db
    .prepare('SELECT pk, ours_col_version, theirs_col_version, remote FROM crsync_conflicts WHERE id = ?')
    .safeIntegers(true)
    .get(id) as { pk: Buffer; ours_col_version: bigint | null; theirs_col_version: bigint | null; remote: string | null };
  const local = siteId(db).toString('hex');
  const remotes = new Map(
    (db.prepare('SELECT name, remote_site FROM crsync_remotes WHERE remote_site IS NOT NULL').all() as { name: string; remote_site: Buffer }[]).map((r) => [
      r.remote_site.toString('hex'),
      r.name,
    ]),
  );
  const side = (value: unknown, site: string | null, version: bigint | null): ConflictSide => {
    const isLocal = site === local;
    return { value, siteId: site, local: isLocal, remote: isLocal ? null : ((site && remotes.get(site)) ?? raw.remote), version: version?.toString() ?? null };
  };
  const current = currentValue(db, c!, raw.pk);
  const resolveWith = c!.resolved
    ? []
    : [`crsync resolve ${id} --ours`, `crsync resolve ${id} --theirs`, `crsync resolve ${id} --value '<json>'`];
  return {
    conflict: c!,
    ours: side(c!.ours, c!.oursSite, raw.ours_col_version),
    theirs: side(c!.theirs, c!.theirsSite, raw.theirs_col_version),
    current,
    resolveWith,
  };
}

function currentValue(db: Db, c: ConflictView, pk: Buffer): { exists: boolean; value: unknown } {
  if (!tableExists(db, c.table)) return { exists: false, value: null };
  const cols = primaryKeyColumns(db, c.table);
  const where = cols.map((k) => `${quoteIdent(k)} = ?`).join(' AND ');
  const row = db.prepare(`SELECT * FROM ${quoteIdent(c.table)} WHERE ${where}`).safeIntegers(true).get(...unpackPk(db, pk)) as Record<string, SqlValue> | undefined;
  if (!row) return { exists: false, value: null };
  if (c.column === null) return { exists: true, value: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, toJsonValue(v)])) };
  return { exists: true, value: toJsonValue(row[c.column] ?? null) };
}
