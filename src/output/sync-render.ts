import type { ChalkInstance } from 'chalk';
import type { Output, Progress } from './output.js';
import type { TransferProgress } from '../sync/client/engine.js';
import type { HttpExchange } from '../sync/transports/transport.js';
import { formatBytes, formatCount, formatEta, formatMs, formatRate } from './format.js';

/** The one-line human summary of a push, pull or sync. */
export function renderTransfer(
  verb: string,
  r: {
    remote: string; url?: string; sent: number; received: number; conflicts: number; bytes: number; ms: number;
    schemaChanges?: string[]; created?: boolean; via?: string; resolutions?: { sent: number; received: number };
  },
  c: ChalkInstance,
): string {
  const parts: string[] = [];
  if (verb !== 'pulled') parts.push(`sent ${formatCount(r.sent)}`);
  if (verb !== 'pushed') parts.push(`received ${formatCount(r.received)}`);
  const moved = r.sent + r.received;
  let line = `${c.bold(r.remote)}: ${parts.join(', ')} change${moved === 1 && parts.length === 1 ? '' : 's'}, ${formatBytes(r.bytes)} in ${formatMs(r.ms)}`;
  if (moved > 0 && r.ms > 0) line += c.dim(` (${formatRate(moved, r.ms)})`);
  if (r.via === 'snapshot') line += ' (snapshot)';
  const lines = r.created ? [c.green(`created dataset ${r.url ?? r.remote}`), line] : [line];
  if (r.schemaChanges && r.schemaChanges.length > 0) lines.push(c.cyan(`schema: ${r.schemaChanges.length} change(s) carried over`));
  const res = r.resolutions;
  if (res && res.sent + res.received > 0) {
    // A resolution that keeps the winner moves no change: say that it travelled.
    const what = [res.sent > 0 ? `sent ${formatCount(res.sent)}` : '', res.received > 0 ? `received ${formatCount(res.received)}` : ''].filter(Boolean);
    lines.push(c.cyan(`${what.join(', ')} conflict resolution${res.sent + res.received === 1 ? '' : 's'}`));
  }
  if (r.conflicts > 0) lines.push(c.yellow(`${r.conflicts} new conflict${r.conflicts === 1 ? '' : 's'}: see \`crsync conflicts\``));
  return lines.join('\n');
}

/** Totals a progress line counts towards, per phase (null or absent: unknown). */
export interface TransferTotals {
  push?: number | null;
  pull?: number | null;
}

/**
 * One progress line: "pull origin: 12,000 / 40,000 changes (30%), 1.2 MiB, 58,000/s, 1 s left".
 * Without a total: done, bytes and rate. A phase's rate and ETA count from its own start.
 */
export function renderProgress(label: string, p: TransferProgress, total: number | null | undefined, ms: number): string {
  const rate = ms > 0 ? (p.changes * 1000) / ms : 0;
  const parts = [`${label}: `];
  if (total !== null && total !== undefined && total > 0) {
    const done = Math.min(p.changes, total);
    parts.push(`${formatCount(done)} / ${formatCount(total)} changes (${Math.floor((done * 100) / total)}%)`);
    parts.push(`, ${formatBytes(p.bytes)}, ${formatRate(p.changes, ms)}`);
    if (rate > 0 && done < total) parts.push(`, ${formatEta(((total - done) / rate) * 1000)} left`);
  } else {
    parts.push(`${formatCount(p.changes)} changes, ${formatBytes(p.bytes)}, ${formatRate(p.changes, ms)}`);
  }
  return parts.join('');
}

/** A spinner fed by transfer progress events; `label` names the phase's verb and remote. */
export function transferProgress(
  out: Output,
  label: string,
  totals: TransferTotals = {},
): { progress: Progress; onProgress: (p: TransferProgress) => void } {
  const progress = out.progress(label);
  let phase: TransferProgress['phase'] | undefined;
  let started = performance.now();
  return {
    progress,
    onProgress: (p) => {
      if (p.phase !== phase) {
        phase = p.phase;
        started = performance.now();
      }
      const name = label.startsWith(p.phase) || label.startsWith('clone') ? label : `${label} (${p.phase})`;
      progress.update(renderProgress(name, p, p.total ?? totals[p.phase], performance.now() - started));
    },
  };
}

/**
 * One HTTP request of a client, for `-v` on stderr:
 * "http GET /v1/datasets/shop/changes?since=0&seq=-1&site=1a2b3c4d… 200, sent 412 B, received 1.2 MiB, 85 ms".
 */
export function renderExchange(e: HttpExchange): string {
  // A site id is 32 hex digits: the first 8 tell sites apart, as in the hub's log.
  const path = e.path.replace(/site=([0-9a-f]{8})[0-9a-f]{24}/, 'site=$1…');
  const answer = e.status === null ? 'no answer' : String(e.status);
  const why = e.error !== undefined ? ` (${e.error})` : '';
  return `http ${e.method} ${path} ${answer}${why}, sent ${formatBytes(e.sent)}, received ${formatBytes(e.received)}, ${e.ms} ms`;
}
