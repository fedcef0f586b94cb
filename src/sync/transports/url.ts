import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../errors.js';

const DATASET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Splits a hub URL (http(s)://host:port/<dataset>) into its origin and dataset name. */
export function parseHubUrl(url: string): { origin: string; dataset: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Up to the last "@": a token may itself hold "@", "/" or spaces.
    throw new UsageError(`invalid remote URL ${url.replace(/\/\/.*@/, '//…@')}`, 'use http(s)://host:port/<dataset>, or a path to a database file');
  }
  if (u.username || u.password) {
    // The URL is stored with the remote: a token in it would end up in the database file.
    throw new UsageError(`the URL ${u.origin}/… carries credentials`, 'put the token in an environment variable (CRSYNC_TOKEN, or --token-env VAR)');
  }
  if (u.search || u.hash) throw new UsageError(`the URL ${u.origin}${u.pathname} has a query or fragment`, 'use http(s)://host:port/<dataset>');
  let dataset: string;
  try {
    dataset = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
  } catch {
    throw new UsageError(`the URL ${url} has malformed percent-encoding`, 'use http(s)://host:port/<dataset>');
  }
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
