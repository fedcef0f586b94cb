import { CrsyncError, UnreachableError } from '../../errors.js';

/** Retry policy for steps that are safe to repeat (every sync step resumes from committed state). */
export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  signal?: AbortSignal;
}

const DEFAULTS: RetryOptions = { attempts: 4, baseDelayMs: 250, maxDelayMs: 4000 };

/** Error codes worth another try: the network, not the request, failed. */
const TRANSIENT = new Set(['remote_unreachable', 'truncated_stream', 'remote_unavailable']);

/** True for failures a retry may cure. */
export function isTransient(err: unknown): boolean {
  return err instanceof CrsyncError && TRANSIENT.has(err.code);
}

/** Runs `fn`, retrying transient failures with exponential backoff and full jitter. */
export async function withRetries<T>(fn: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as RetryOptions;
  let last: unknown;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      last = err;
      if (!isTransient(err) || attempt === o.attempts) break;
      const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((r) => setTimeout(r, Math.round(ceiling / 2 + Math.random() * (ceiling / 2))));
    }
  }
  if (isTransient(last) && !(last instanceof UnreachableError)) {
    const e = last as CrsyncError;
    throw new UnreachableError(`${e.message} (after ${o.attempts} attempts)`, e.hint ?? 'check the remote, then run the command again: it resumes where it stopped', e);
  }
  throw last;
}

/** Retry settings from the environment (CRSYNC_RETRIES, CRSYNC_RETRY_DELAY_MS). */
export function retryFromEnv(env: NodeJS.ProcessEnv): Partial<RetryOptions> {
  const attempts = Number(env.CRSYNC_RETRIES);
  const delay = Number(env.CRSYNC_RETRY_DELAY_MS);
  return {
    attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : undefined,
    baseDelayMs: Number.isFinite(delay) && delay >= 0 && env.CRSYNC_RETRY_DELAY_MS ? delay : undefined,
  };
}
