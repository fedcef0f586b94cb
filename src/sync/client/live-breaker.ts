import { CrsyncError, ERRORS } from '../../errors.js';

/** States of a live sync (the `status` event). */
export type LiveState = 'connecting' | 'live' | 'offline' | 'needs_auth' | 'stopped';

/** How a live sync backs off and when it gives up for a while. */
export interface BackoffOptions {
  /** First retry ceiling; doubles per failure (full jitter: a delay anywhere in 0..ceiling). */
  baseMs: number;
  /** Largest ceiling. */
  capMs: number;
  /** Failures in a row after which the breaker opens (`offline`). */
  failures: number;
  /** While offline, one probe this often. */
  probeMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, capMs: 30_000, failures: 8, probeMs: 60_000 };

/** What a failure means for the loop: try again after a delay, wait for new credentials, or stop. */
export type Verdict = { kind: 'retry'; delayMs: number; state: 'connecting' | 'offline' } | { kind: 'needs_auth' } | { kind: 'fatal' };

/** Families a retry cannot cure: the replica itself or the command is wrong. */
const FATAL = new Set(['usage', 'input', 'io', 'interrupted']);

/**
 * Full-jitter exponential backoff behind a circuit breaker. Every delay is drawn from 0..ceiling,
 * so watchers that lost one hub at once come back spread over the ceiling, not in a wave.
 */
export class Breaker {
  private failed = 0;

  constructor(
    private readonly o: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** A request succeeded: the breaker closes. */
  succeeded(): void {
    this.failed = 0;
  }

  /** Consecutive failures so far. */
  get failures(): number {
    return this.failed;
  }

  onFailure(err: CrsyncError): Verdict {
    const family = ERRORS[err.code].family;
    if (family === 'auth') return { kind: 'needs_auth' };
    if (FATAL.has(family) || (family === 'not_found' && err.code !== 'dataset_not_found')) return { kind: 'fatal' };
    this.failed++;
    if (this.failed >= this.o.failures) {
      // Open: one probe per period (a tenth of jitter, so probes of many watchers do not align).
      return { kind: 'retry', state: 'offline', delayMs: Math.round(this.o.probeMs * (0.9 + 0.1 * this.random())) };
    }
    const ceiling = Math.min(this.o.capMs, this.o.baseMs * 2 ** (this.failed - 1));
    return { kind: 'retry', state: 'connecting', delayMs: Math.round(this.random() * ceiling) };
  }
}
