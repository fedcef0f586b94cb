import type { Command } from 'commander';
import { parseQuantity, type QuantityKind as Kind } from '../units.js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './limits.js';


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
  ['max-live', 'maxLive', 'count', 'live pulls held at once (sync --watch clients); more get 503 busy'],
  ['max-memory', 'maxMemoryBytes', 'size', 'bytes of frames and pull pages in flight across all requests; more get 503 busy'],
  ['max-datasets', 'maxDatasets', 'count', 'datasets this hub may hold; creating more is refused'],
  ['max-client-connections', 'maxClientConnections', 'count', 'open connections from one client address; more are closed at once'],
];

function show(key: keyof ServerLimits, kind: Kind): string {
  const v = DEFAULT_SERVER_LIMITS[key];
  if (kind === 'duration') return v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`;
  if (kind === 'size') {
    for (const [u, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (v % n === 0) return `${v / n}${u}`;
  }
  return String(v);
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
    if (text !== undefined && text !== '') limits[key] = parseQuantity(given !== undefined ? `--${flag}` : envName(flag), text, kind);
  }
  return limits;
}
