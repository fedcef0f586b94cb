import type { Command } from 'commander';
import type { Readable } from 'node:stream';
import { commandContext, type CommandContext } from '../cli.js';
import { CrsyncError, UsageError } from '../errors.js';
import { parseQuantity } from '../units.js';
import { renderExchange } from '../output/sync-render.js';
import type { RequestObserver } from '../sync/transports/transport.js';

/** Wraps a command action: builds its context and passes it along with the parsed arguments. */
export function action<A extends unknown[]>(
  fn: (ctx: CommandContext, ...args: A) => Promise<void> | void,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = commandContext(cmd);
    await fn(ctx, ...(args.slice(0, -1) as A));
  };
}

/** Reads all of stdin as UTF-8 text. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a positive integer option, with a usage error naming the option. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive integer, got ${value}`);
  return n;
}

/** Parses a duration option with a unit (`500ms`, `10s`, `2m`), with a usage error naming the option. */
export function parseDuration(name: string, value: string): number {
  return parseQuantity(name, value, 'duration');
}

/** An interrupted transfer keeps what it committed: say how to carry on. */
export function withResumeHint(err: unknown, again: string): unknown {
  if (!(err instanceof CrsyncError) || err.code !== 'interrupted' || err.hint) return err;
  return new CrsyncError(err.code, err.message, { exitCode: err.exitCode, hint: `the pages committed so far are kept; run \`${again}\` to carry on from there`, cause: err });
}

/** With -v (and not -q): one stderr line per HTTP request the command makes; else nothing. */
export function requestLog(ctx: CommandContext): RequestObserver | undefined {
  return ctx.out.verbose ? (e) => ctx.out.detail(renderExchange(e)) : undefined;
}

/** With -v: a step's detail line with the milliseconds since `started` (performance.now()). */
export function stepDetail(ctx: CommandContext, text: string, started: number): void {
  ctx.out.detail(`${text} (${Math.round(performance.now() - started)} ms)`);
}
