import type { IncomingMessage } from 'node:http';
import type { RequestLogEntry } from '../output/hub-render.js';

export type { RequestLogEntry };

/** The log entry of a finished request. Hostile paths reach here too: read raw, never throw. */
export function requestLogEntry(req: IncomingMessage, status: number, at: string, bytesIn: number, bytesOut: number, ms: number): RequestLogEntry {
  let u: URL;
  try {
    u = new URL(req.url ?? '/', 'http://hub');
  } catch {
    u = new URL('http://hub/?');
  }
  const p = u.pathname.split('/');
  const site = u.searchParams.get('site') ?? '';
  return {
    at,
    method: req.method ?? '?',
    path: u.pathname,
    dataset: p[2] === 'datasets' && p[3] ? p[3] : null,
    status,
    bytesIn,
    bytesOut,
    ms: Math.round(ms),
    site: /^[0-9a-f]{32}$/i.test(site) ? site : null,
  };
}
