import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './limits.js';

type Kind = 'size' | 'duration' | 'count';

/** The limit options of `crsync serve`: flag, limit, value kind, help. Env: CRSYNC_SERVE_<FLAG>. */
const LIMIT_OPTIONS: [flag: string, key: keyof ServerLimits, kind: Kind, help: string][] = [
  ['max-body', 'maxBodyBytes', 'size', 'largest push body, decompressed'],
  ['max-frame', 'maxFrameBytes', 'size', 'largest frame of a change stream'],
  ['max-value', 'maxValueBytes', 'size', 'largest TEXT or BLOB value (or primary key) in a pushed change'],
  ['max-page', 'maxPageSize', 'count', 'most changes in one page (pulls asking for more get this many)'],
  ['headers-timeout', 'headersTimeoutMs', 'duration', 'time for a request line and headers to arrive'],
  ['idle-timeout', 'idleTimeoutMs', 'duration', 'longest silence while a request is under way'],
  ['min-rate', 'minBytesPerSec', 'size', 'bytes per second a frame must keep arriving at (after one idle timeout)'],
  ['max-connections', 'maxConnections', 'count', 'open connections at once; more get 503 busy'],
  ['max-memory', 'maxMemoryBytes', 'size', 'bytes of frames and pull pages in flight across all requests; more get 503 busy'],
  ['max-datasets', 'maxDatasets', 'count', 'datasets this hub may hold; creating more is refused'],
  ['max-client-connections', 'maxClientConnections', 'count', 'open connections from one client address; more are closed at once'],
];

const UNITS: Record<Kind, Record<string, number>> = {
  size: { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 },
  // A duration needs its unit: a bare "30" could mean seconds or milliseconds.
  duration: { ms: 1, s: 1000, m: 60_000 },
  count: { '': 1 },
};

function show(key: keyof ServerLimits, kind: Kind): string {
  const v = DEFAULT_SERVER_LIMITS[key];
  if (kind === 'duration') return v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`;
  if (kind === 'size') {
    for (const [u, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (v % n === 0) return `${v / n}${u}`;
  }
  return String(v);
}

/** Parses "64MiB", "512k", "30s", "500ms", "1000" into bytes, milliseconds or a count. */
export function parseLimit(name: string, text: string, kind: Kind): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[kind][m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    const example = kind === 'size' ? 'e.g. 64MiB, 512k or 1048576' : kind === 'duration' ? 'e.g. 30s or 500ms (the unit is required)' : 'a positive integer';
    throw new UsageError(`${name} must be ${kind === 'count' ? 'a positive integer' : `a positive ${kind}`}, got ${JSON.stringify(text)}`, example);
  }
  return n;
}

const envName = (flag: string): string => `CRSYNC_SERVE_${flag.toUpperCase().replace(/-/g, '_')}`;

/** Declares the limit options on the serve command. */
export function addLimitOptions(cmd: Command): Command {
  for (const [flag, key, kind, help] of LIMIT_OPTIONS) {
    cmd.option(`--${flag} <${kind === 'count' ? 'n' : kind}>`, `${help} (env ${envName(flag)}; default ${show(key, kind)})`);
  }
  return cmd;
}

/** The limits given as options, or else in the environment (CRSYNC_SERVE_MAX_BODY...). */
export function limitsFrom(opts: Record<string, unknown>, env: NodeJS.ProcessEnv): Partial<ServerLimits> {
  const limits: Partial<ServerLimits> = {};
  for (const [flag, key, kind] of LIMIT_OPTIONS) {
    const camel = flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    const given = opts[camel] as string | undefined;
    const text = given ?? env[envName(flag)];
    if (text !== undefined && text !== '') limits[key] = parseLimit(given !== undefined ? `--${flag}` : envName(flag), text, kind);
  }
  return limits;
}
