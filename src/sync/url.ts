import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

const DATASET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Splits a hub URL (http(s)://host:port/<dataset>) into its origin and dataset name. */
export function parseHubUrl(url: string): { origin: string; dataset: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`invalid remote URL ${url}`, 'use http(s)://host:port/<dataset>, or a path to a database file');
  }
  const dataset = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
  if (!DATASET.test(dataset) || dataset.includes('..')) {
    throw new UsageError(`the URL ${url} does not name a dataset`, 'use http(s)://host:port/<dataset>; names use letters, digits, ".", "_" and "-"');
  }
  return { origin: u.origin, dataset };
}

/** True for hub URLs; anything else is a path (or file: URL) of a peer database. */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/** Path of a file remote ("file:" URL or plain path). */
export function filePathOf(url: string): string {
  return url.startsWith('file:') ? fileURLToPath(url) : resolve(url);
}
