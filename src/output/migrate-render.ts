import type { ChalkInstance } from 'chalk';
import type { MigrateResult } from '../db/schema/migrate.js';
import { formatMs } from './format.js';

/** `crsync migrate`: one line per statement, then the schema version it left. */
export function renderMigrate(r: MigrateResult, c: ChalkInstance): string {
  const lines = r.statements.map((s) => {
    const kind = s.kind.replace(/_/g, ' ');
    return `${String(s.index).padStart(3)}  ${kind.padEnd(14)} ${c.dim(s.sql)}`;
  });
  if (r.tracked.length > 0) lines.push(`${c.green('replicated')} ${r.tracked.join(', ')}`);
  const hash = r.schemaHash.slice(0, 12);
  const state = r.schemaChanged
    ? `schema version ${c.bold(String(r.schemaVersion))} (was ${r.previousVersion}), hash ${hash}`
    : `replicated schema unchanged: version ${r.schemaVersion}, hash ${hash}`;
  lines.push(`${r.dryRun ? c.yellow('dry run, rolled back: ') : ''}${state} · ${formatMs(r.ms)}`);
  return lines.join('\n');
}
