import { execa } from 'execa';
import { resolve } from 'node:path';
import { CLI } from '../helpers.js';

const PTY = resolve(import.meta.dirname, '..', 'pty', 'run-pty.py');

/** Something to type at the terminal once `after` has appeared (and `delay` seconds passed). */
export interface PtySend {
  after?: string;
  delay?: number;
  data: string;
}

/** What a person at the terminal saw, and the terminal's state after the run. */
export interface PtyRun {
  exitCode: number;
  text: string;
  isig: boolean;
  icanon: boolean;
  echo: boolean;
  /** The terminal lost ISIG (raw mode) while the command ran: Ctrl-C would not be a signal. */
  rawWhileRunning: boolean;
}

/** Runs the built CLI under a pseudo-terminal (python3's pty); stdout may go to a file instead. */
export async function crsyncPty(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; unset?: string[]; send?: PtySend[]; stdoutFile?: string; timeout?: number } = {},
): Promise<PtyRun> {
  const spec = {
    argv: ['node', CLI, ...args],
    cwd: opts.cwd,
    env: opts.env ?? {},
    // The test runner's own colour settings must not leak in; the ones a test sets stay.
    unset: ['NO_COLOR', 'FORCE_COLOR', 'CI', ...(opts.unset ?? [])].filter((k) => !(k in (opts.env ?? {}))),
    send: opts.send ?? [],
    stdout_file: opts.stdoutFile ?? null,
    timeout: opts.timeout ?? 60,
  };
  const r = await execa('python3', [PTY, JSON.stringify(spec)], { reject: false, maxBuffer: 64 * 1024 * 1024 });
  if (r.exitCode !== 0) throw new Error(`pty runner failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PtyRun;
}

/** The terminal text without escape sequences. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}
