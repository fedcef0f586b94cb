import type { ChalkInstance } from 'chalk';
import { displayValue, type SqlValue } from '../values.js';

/** Renders rows as an aligned text table (numbers right-aligned, NULL dimmed). */
export function renderTable(columns: string[], rows: SqlValue[][], c: ChalkInstance): string {
  if (columns.length === 0) return '';
  const cells = rows.map((r) => r.map((v) => displayValue(v).replace(/\n/g, '\\n')));
  const widths = columns.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'bigint' || typeof r[i] === 'number'));
  const line = (vals: string[], style?: (s: string) => string): string =>
    vals
      .map((v, i) => {
        const padded = numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
        return style ? style(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  const out = [line(columns, c.bold), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (let r = 0; r < cells.length; r++) {
    out.push(
      cells[r]!
        .map((v, i) => {
          const padded = numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
          return rows[r]![i] === null ? c.dim(padded) : padded;
        })
        .join('  ')
        .trimEnd(),
    );
  }
  return out.join('\n');
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** 1234 -> "1.23 s"; 45 -> "45 ms". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Items per second, rounded for display. */
export function formatRate(count: number, ms: number): string {
  if (ms <= 0) return `${count}/s`;
  const rate = (count * 1000) / ms;
  return rate >= 100 ? `${formatCount(Math.round(rate))}/s` : `${rate.toFixed(1)}/s`;
}

/**
 * 12345 -> "12,345". Grouped by hand: the first toLocaleString of a process loads ICU's
 * locale data (about 20 ms, a tenth of a no-op sync).
 */
export function formatCount(n: number | bigint): string {
  if (typeof n === 'number' && !Number.isInteger(n)) return n.toLocaleString('en-US');
  const s = n.toString();
  const sign = s.startsWith('-') ? '-' : '';
  return sign + s.slice(sign.length).replace(/\B(?=(\d{3})+$)/g, ',');
}

/**
 * An ISO 8601 UTC timestamp for humans: local time, and how long ago ("2026-12-01 11:03
 * (5 min ago)"). JSON keeps the ISO text.
 */
export function formatTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const p = (n: number): string => String(n).padStart(2, '0');
  const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return `${local} (${formatAgo(now - t)})`;
}

/** 42_000 -> "42 s ago"; future times say "from now". */
export function formatAgo(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86_400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} d`;
  return ms >= 0 ? `${text} ago` : `${text} from now`;
}

/** Seconds left at a rate, for progress ("1 min 5 s"). */
export function formatEta(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
