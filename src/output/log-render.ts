import type { ChalkInstance } from 'chalk';
import type { LogEntry } from '../db/log.js';
import { formatCount, renderTable } from './format.js';

/** `crsync log` as a table, newest first. */
export function renderLog(entries: LogEntry[], c: ChalkInstance): string {
  if (entries.length === 0) return c.dim('no transactions');
  const rows = entries.map((e) => [
    e.dbVersion,
    e.at ? e.at.replace('T', ' ') : null,
    e.source,
    e.siteId ? e.siteId.slice(0, 8) : null,
    Object.entries(e.tables).map(([t, n]) => `${t} (${n})`).join(', '),
  ]);
  return renderTable(['version', 'at', 'source', 'site', 'tables (rows written)'], rows, c);
}

/** The note under a log that reached where older entries were pruned. */
export function renderLogPruned(below: bigint, keep: number): string {
  return `transactions before version ${below} were pruned from the log (it keeps the newest ${formatCount(keep)} entries; crsync_meta txlog_keep sets it)`;
}
