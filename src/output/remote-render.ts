import type { ChalkInstance } from 'chalk';
import type { CloneResult } from '../sync/client/clone.js';
import type { HubDataset } from '../sync/transports/http.js';
import type { TableInfo } from '../db/replica.js';
import { formatBytes, formatCount, formatMs, formatTime, renderTable } from './format.js';

/** A remote as commands show it (tokens are never stored, only the variable's name). */
export interface RemoteView {
  name: string;
  url: string;
  tokenEnv: string;
  lastPush: string | null;
  lastPull: string | null;
}

/** `crsync remote`: names only, as git does; with -v the URL and the token variable too. */
export function renderRemoteNames(list: RemoteView[], c: ChalkInstance, verbose: boolean): string {
  if (list.length === 0) return c.dim('no remotes (crsync remote add <name> <url>)');
  if (!verbose) return list.map((r) => r.name).join('\n');
  const w = Math.max(...list.map((r) => r.name.length));
  return list.map((r) => `${r.name.padEnd(w)}  ${r.url}  ${c.dim(`(token in $${r.tokenEnv})`)}`).join('\n');
}

/** `crsync remote list`: the full table. */
export function renderRemoteTable(list: RemoteView[], c: ChalkInstance): string {
  if (list.length === 0) return c.dim('no remotes (crsync remote add <name> <url>)');
  return renderTable(
    ['name', 'url', 'token env', 'last pull', 'last push'],
    list.map((r) => [r.name, r.url, r.tokenEnv, r.lastPull ? formatTime(r.lastPull) : 'never', r.lastPush ? formatTime(r.lastPush) : 'never']),
    c,
  );
}

export function renderRemoteAdded(r: RemoteView, c: ChalkInstance): string {
  return `added remote ${c.bold(r.name)} ${r.url}`;
}

export function renderRemoteUrlSet(r: RemoteView, c: ChalkInstance): string {
  return `remote ${c.bold(r.name)} now points at ${r.url}`;
}

export function renderRemoteRemoved(r: { removed: string }): string {
  return `removed remote ${r.removed}`;
}

/** `crsync remote datasets <url>`. */
export function renderDatasets(r: { hub: string; datasets: HubDataset[] }, c: ChalkInstance): string {
  if (r.datasets.length === 0) return c.dim(`no datasets on ${r.hub} that this token may use (crsync push --create makes one)`);
  return renderTable(['dataset', 'size', 'url'], r.datasets.map((d) => [d.name, formatBytes(d.bytes), `${r.hub}/${d.name}`]), c);
}

/** `crsync clone`. */
export function renderClone(x: CloneResult, c: ChalkInstance): string {
  return [
    `Cloned ${c.bold(x.url)} into ${c.bold(x.db)}`,
    `site id ${c.cyan(x.siteId)}; tables: ${x.tables.join(', ') || 'none'}`,
    `${formatCount(x.received)} change${x.received === 1 ? '' : 's'}, ${formatBytes(x.bytes)} in ${formatMs(x.ms)}${x.via === 'snapshot' ? ' (snapshot)' : ''}`,
  ].join('\n');
}

/** `crsync track --list`. */
export function renderTrackedList(l: TableInfo[], c: ChalkInstance): string {
  return l.length === 0 ? c.dim('no replicated tables (crsync track <table>)') : renderTable(['table', 'rows'], l.map((t) => [t.name, BigInt(t.rows)]), c);
}

/** `crsync track <tables>`. */
export function renderTracked(r: { tracked: string[]; alreadyTracked: string[] }, c: ChalkInstance): string {
  return [...r.tracked.map((t) => `${c.green('replicated')} ${t}`), ...r.alreadyTracked.map((t) => `${c.dim('already replicated')} ${t}`)].join('\n');
}
