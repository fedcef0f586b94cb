import type { ChalkInstance } from 'chalk';
import type { StatsResult } from '../db/stats.js';
import { formatBytes, formatCount } from './format.js';

/** Columns aligned: the first left, the others right (they are counts and sizes). */
function aligned(head: string[], rows: string[][], c: ChalkInstance): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd();
  return [c.bold(line(head)), ...rows.map(line)];
}

function share(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part * 100) / whole)}%` : '-';
}

/** `crsync stats`: the file, then each replicated table, crsync's bookkeeping, and where the bytes go. */
export function renderStats(s: StatsResult, c: ChalkInstance): string {
  const f = s.file;
  const out = [
    `${c.bold(s.db)}  ${formatBytes(f.bytes)}: ${formatCount(f.pages)} pages of ${formatBytes(f.pageSize)}, ${formatCount(f.freelistPages)} free` +
      (f.walBytes > 0 ? `; WAL ${formatBytes(f.walBytes)}` : ''),
    '',
  ];
  if (s.tables.length === 0) out.push(c.dim('no replicated tables'));
  else {
    const rows = s.tables.map((t) => [
      t.name,
      formatCount(t.rows),
      formatCount(t.tombstones),
      formatBytes(t.dataBytes),
      formatBytes(t.clockBytes),
      formatBytes(t.keyBytes),
      t.dataBytes > 0 ? `${(t.metadataBytes / t.dataBytes).toFixed(1)}x` : '-',
    ]);
    out.push(...aligned(['table', 'rows', 'tombstones', 'data', 'clock', 'keys', 'metadata/data'], rows, c));
  }
  out.push('');
  const bk = s.bookkeeping.filter((b) => b.rows > 0 || b.bytes > 0);
  out.push(...aligned(['crsync bookkeeping', 'rows', 'bytes'], bk.map((b) => [b.name, formatCount(b.rows), formatBytes(b.bytes)]), c));
  const t = s.totals;
  const parts: [string, number][] = [
    ['data', t.dataBytes],
    ['cr-sqlite metadata', t.metadataBytes],
    ['crsync bookkeeping', t.bookkeepingBytes],
    ['cr-sqlite shared', t.crsqliteBytes],
    ['other', t.otherBytes],
    ['free', t.freeBytes],
  ];
  out.push('', ...aligned(['where the bytes go', 'bytes', 'share'], parts.map(([name, n]) => [name, formatBytes(n), share(n, f.bytes)]), c));
  return out.join('\n');
}
