import type { ImportProgress, ImportResult } from '../formats/import.js';
import type { ExportResult } from '../formats/export.js';
import { formatCount, formatMs, formatRate } from './format.js';

/** "58,743 rows/s": the shared rate style, with its unit. */
const rowRate = (rows: number, ms: number): string => formatRate(rows, ms).replace(/\/s$/, ' rows/s');

/** The import's progress line: rows, rate, skipped, and how much of the file is read. */
export function renderImportProgress(table: string, p: ImportProgress): string {
  const left = p.totalBytes ? ` · ${Math.floor((100 * p.bytesRead) / p.totalBytes)}%` : '';
  const skipped = p.skipped > 0 ? ` · ${formatCount(p.skipped)} skipped` : '';
  return `importing into ${table}: ${formatCount(p.rows)} rows · ${rowRate(p.rows, p.ms)}${skipped}${left}`;
}

/** The note after an import. */
export function renderImportSummary(r: ImportResult): string {
  return (
    `Imported ${formatCount(r.rows)} row${r.rows === 1 ? '' : 's'} into ${r.table}${r.created ? ' (created, replicated)' : ''} ` +
    `from ${r.file === '-' ? 'stdin' : r.file} in ${formatMs(r.ms)} (${rowRate(r.rows, r.ms)})`
  );
}

/** The export's progress line. */
export function renderExportProgress(table: string, rows: number): string {
  return `exporting ${table}: ${formatCount(rows)} rows`;
}

/** The note after an export (stdout carries the rows). */
export function renderExportSummary(table: string, format: string, file: string | undefined, r: ExportResult): string {
  return `Exported ${formatCount(r.rows)} row${r.rows === 1 ? '' : 's'} of ${table} (${format}) to ${file ?? 'stdout'} in ${formatMs(r.ms)}`;
}
