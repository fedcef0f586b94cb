import { Command, CommanderError, Option } from 'commander';
import type { Readable, Writable } from 'node:stream';
import { CrsyncError, ExitCode, UsageError, toCrsyncError } from './errors.js';
import { Output } from './output/output.js';
import { registerCommands } from './commands/index.js';
import { VERSION } from './version.js';
import { useExtensionPath } from './db/extension.js';

/** Everything crsync takes from its process: the one place that reads argv, env and TTY state. */
export interface CliEnv {
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  signal: AbortSignal;
}

/** Options every command takes. */
export interface GlobalOptions {
  db: string;
  json: boolean;
  color: boolean;
  debug: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** What a command's action receives besides its own arguments. */
export interface CommandContext {
  out: Output;
  globals: GlobalOptions;
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdinIsTTY: boolean;
  /** Aborted on SIGINT/SIGTERM; long operations stop at a safe point. */
  signal: AbortSignal;
  /** A command sets this to exit non-zero without an error (status --exit-code). */
  exitCode: number;
}

const contexts = new WeakMap<Command, CliEnv>();
let lastContext: CommandContext | undefined;
/** The context of the command that ran last (read after parseAsync). */
const currentContext = (): CommandContext | undefined => lastContext;

/**
 * Whether one stream gets colour: --json and --no-color always turn it off, FORCE_COLOR (not "0")
 * turns it on, NO_COLOR and CI off; otherwise only when that very stream is a terminal.
 */
export function streamColor(isTTY: boolean, env: NodeJS.ProcessEnv, g: { json: boolean; color: boolean }): boolean {
  if (g.json || !g.color) return false;
  // Empty counts as unset, for FORCE_COLOR as for NO_COLOR (no-color.org).
  const force = env.FORCE_COLOR === '' ? undefined : env.FORCE_COLOR;
  if (force === '0' || force === 'false') return false;
  if (force !== undefined) return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false') return false;
  return isTTY;
}

type OutputGlobals = Pick<GlobalOptions, 'json' | 'color' | 'debug' | 'quiet' | 'verbose'>;

function makeOutput(cli: CliEnv, g: OutputGlobals): Output {
  const ci = cli.env.CI !== undefined && cli.env.CI !== '' && cli.env.CI !== 'false';
  return new Output({
    json: g.json,
    stdoutColor: streamColor(cli.stdoutIsTTY, cli.env, g),
    stderrColor: streamColor(cli.stderrIsTTY, cli.env, g),
    debug: g.debug,
    quiet: g.quiet,
    verbose: g.verbose,
    interactive: cli.stderrIsTTY && !g.json && !ci && !g.quiet,
    stdoutIsTTY: cli.stdoutIsTTY,
    stdout: cli.stdout,
    stderr: cli.stderr,
  });
}

/** Builds the context of a running command from its globals and the process environment. */
export function commandContext(cmd: Command): CommandContext {
  let root = cmd;
  while (root.parent) root = root.parent;
  const cli = contexts.get(root);
  if (!cli) throw new Error('command is not attached to a crsync program');
  const g = cmd.optsWithGlobals() as GlobalOptions;
  const globals: GlobalOptions = {
    db: g.db,
    json: g.json === true,
    color: g.color !== false,
    debug: g.debug === true,
    quiet: g.quiet === true,
    verbose: g.verbose === true,
  };
  lastContext = {
    out: makeOutput(cli, globals),
    globals,
    env: cli.env,
    stdin: cli.stdin,
    stdinIsTTY: cli.stdinIsTTY,
    signal: cli.signal,
    exitCode: 0,
  };
  return lastContext;
}

/** Builds the commander program with every command registered. */
export function createProgram(cli: CliEnv): Command {
  const program = new Command('crsync');
  contexts.set(program, cli);
  program
    .description('Local-first SQLite with CRDT sync (cr-sqlite): replicate tables, sync them, inspect what lost.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('-d, --db <path>', 'replica database file').env('CRSYNC_DB').default('./crsync.db'))
    .option('--json', 'print one JSON document on stdout (results and errors)')
    .option('--no-color', 'no colour in output')
    .option('--debug', 'print stack traces of internal errors')
    .option('-q, --quiet', 'print nothing on stderr but errors')
    .option('-v, --verbose', 'print per-step detail, timings and HTTP requests on stderr')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true });
  registerCommands(program);
  return program;
}

/** What commander printed under --json, reported once by run() as part of the one JSON document. */
interface Captured {
  out: string;
}

function applyExitOverride(cmd: Command, cli: CliEnv, captured: Captured): void {
  const json = cli.env.__CRSYNC_JSON === '1';
  cmd.exitOverride();
  cmd.configureOutput({
    // With --json, help and version text become the JSON document run() prints.
    writeOut: (s) => (json ? void (captured.out += s) : cli.stdout.write(s)),
    // With --json the usage error is reported once, as JSON, by run().
    writeErr: (s) => (json ? undefined : cli.stderr.write(s)),
  });
  for (const sub of cmd.commands) applyExitOverride(sub, cli, captured);
}

/** Parses argv and runs the command; returns the exit code. Never throws. */
export async function run(argv: string[], cli: CliEnv): Promise<number> {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  const wantsJson = flags.includes('--json');
  useExtensionPath(cli.env.CRSYNC_CRSQLITE_PATH);
  const cliEnv: CliEnv = { ...cli, env: { ...cli.env, __CRSYNC_JSON: wantsJson ? '1' : '0' } };
  const captured: Captured = { out: '' };
  const program = createProgram(cliEnv);
  applyExitOverride(program, cliEnv, captured);
  lastContext = undefined;
  const fallbackOutput = (): Output =>
    currentContext()?.out ??
    makeOutput(cliEnv, {
      json: wantsJson,
      color: !flags.includes('--no-color'),
      debug: flags.includes('--debug'),
      quiet: flags.includes('-q') || flags.includes('--quiet'),
      verbose: false,
    });
  try {
    await program.parseAsync(argv, { from: 'node' });
    return currentContext()?.exitCode ?? ExitCode.ok;
  } catch (err) {
    const out = fallbackOutput();
    if (err instanceof CommanderError) {
      if (err.code === 'commander.version') {
        if (wantsJson) out.result({ version: VERSION });
        return ExitCode.ok;
      }
      if (err.code === 'commander.helpDisplayed' || (err.code === 'commander.help' && err.exitCode === 0)) {
        if (wantsJson) out.result({ help: captured.out });
        return ExitCode.ok;
      }
      if (err.code === 'commander.help') {
        // No command given (crsync alone, or a command group alone): help went to stderr.
        if (wantsJson) out.error(new UsageError('no command given', 'see `crsync --help`'));
        return ExitCode.usage;
      }
      if (wantsJson) {
        out.error(new UsageError(err.message.replace(/^error: /, ''), 'see `crsync --help`'));
      }
      return ExitCode.usage;
    }
    const e = toCrsyncError(err);
    out.error(e);
    return e.exitCode;
  }
}

/** Exit codes of a process stopped by a signal, as shells report them (128 + the signal number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** Entry point used by bin/crsync.js. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let received: keyof typeof SIGNAL_EXIT | undefined;
  const onSignal = (name: keyof typeof SIGNAL_EXIT): void => {
    // A second signal: the user does not want to wait for a committed page.
    if (received) process.exit(SIGNAL_EXIT[name]);
    received = name;
    controller.abort(new CrsyncError('interrupted', name === 'SIGINT' ? 'interrupted' : 'terminated'));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // A reader that stops early (`crsync export t | head`) closes the pipe: stop quietly, as
  // Unix tools do, instead of crashing on EPIPE. Anything written was committed already.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    controller.abort(new CrsyncError('interrupted', 'output closed'));
    process.exit(process.exitCode ?? 0);
  });
  if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
  const code = await run(process.argv, {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    signal: controller.signal,
  });
  // Stopped by a signal: say so in the exit code, as a process killed by it would (a command that
  // finished its work before it noticed keeps its own code).
  process.exitCode = received && code !== ExitCode.ok ? SIGNAL_EXIT[received] : code;
}
