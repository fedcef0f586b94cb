import type { ChalkInstance } from 'chalk';
import { formatBytes } from './format.js';

/**
 * One request of the hub's log. Declared here, with its renderer, and used by the hub
 * (src/server/request-log.ts): output code never imports the hub.
 */
export interface RequestLogEntry {
  /** ISO 8601 UTC time the request arrived. */
  at: string;
  method: string;
  path: string;
  dataset: string | null;
  status: number;
  bytesIn: number;
  bytesOut: number;
  ms: number;
  /** The client's site id (hex) when the request names it. */
  site: string | null;
}

/** Formats of the hub's request log. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** One line per request: text for people, or one JSON object per line for log collectors. */
export function renderRequestLine(e: RequestLogEntry, format: LogFormat, c: ChalkInstance): string {
  if (format === 'json') return JSON.stringify(e);
  const status = e.status >= 500 ? c.red(String(e.status)) : e.status >= 400 ? c.yellow(String(e.status)) : String(e.status);
  const site = e.site ? ` site ${e.site.slice(0, 8)}` : '';
  return `${e.at} ${e.method} ${e.path} ${status} in ${formatBytes(e.bytesIn)} out ${formatBytes(e.bytesOut)} ${e.ms} ms${site}`;
}

/** What a stopping hub waits for. */
export function renderShutdown(inFlight: string[]): string {
  if (inFlight.length === 0) return 'stopping: no requests in flight';
  const shown = inFlight.slice(0, 5).join(', ') + (inFlight.length > 5 ? `, and ${inFlight.length - 5} more` : '');
  return `stopping: waiting for ${inFlight.length} request${inFlight.length === 1 ? '' : 's'} in flight to finish (${shown}); Ctrl-C again stops at once`;
}
