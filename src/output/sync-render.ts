import type { ChalkInstance } from 'chalk';
import type { Output, Progress } from './output.js';
import type { TransferProgress } from '../sync/client/engine.js';
import { formatBytes, formatCount, formatMs, formatRate } from './format.js';

/** The one-line human summary of a push, pull or sync. */
export function renderTransfer(
  verb: string,
  r: { remote: string; url?: string; sent: number; received: number; conflicts: number; bytes: number; ms: number; schemaChanges?: string[]; created?: boolean },
  c: ChalkInstance,
): string {
  const parts: string[] = [];
  if (verb !== 'pulled') parts.push(`sent ${formatCount(r.sent)}`);
  if (verb !== 'pushed') parts.push(`received ${formatCount(r.received)}`);
  const moved = r.sent + r.received;
  let line = `${c.bold(r.remote)}: ${parts.join(', ')} change${moved === 1 && parts.length === 1 ? '' : 's'}, ${formatBytes(r.bytes)} in ${formatMs(r.ms)}`;
  if (moved > 0 && r.ms > 0) line += c.dim(` (${formatRate(moved, r.ms)})`);
  const lines = r.created ? [c.green(`created dataset ${r.url ?? r.remote}`), line] : [line];
  if (r.schemaChanges && r.schemaChanges.length > 0) lines.push(c.cyan(`schema: ${r.schemaChanges.length} change(s) carried over`));
  if (r.conflicts > 0) lines.push(c.yellow(`${r.conflicts} new conflict${r.conflicts === 1 ? '' : 's'}: see \`crsync conflicts\``));
  return lines.join('\n');
}

/** A spinner fed by transfer progress events. */
export function transferProgress(out: Output, label: string): { progress: Progress; onProgress: (p: TransferProgress) => void } {
  const progress = out.progress(label);
  const started = performance.now();
  return {
    progress,
    onProgress: (p) => {
      const ms = performance.now() - started;
      progress.update(`${label}: ${p.phase} ${formatCount(p.changes)} changes, ${formatBytes(p.bytes)} (${formatRate(p.changes, ms)})`);
    },
  };
}
