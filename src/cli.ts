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

function makeOutput(cli: CliEnv, g: Pick<GlobalOptions, 'json' | 'color' | 'debug'>): Output {
  const color = g.color && !g.json && cli.stdoutIsTTY && cli.env.NO_COLOR === undefined;
  const interactive = cli.stderrIsTTY && !g.json && !cli.env.CI;
  return new Output({
    json: g.json,
    color: color || (g.color && cli.stderrIsTTY && cli.env.NO_COLOR === undefined && !g.json),
    debug: g.debug,
    interactive,
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
  const globals: GlobalOptions = { db: g.db, json: g.json === true, color: g.color !== false, debug: g.debug === true };
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
    .option('--json', 'print one JSON document on stdout (results and errors)', false)
    .option('--no-color', 'no colour in output')
    .option('--debug', 'print stack traces of internal errors', false)
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: true });
  registerCommands(program);
  applyExitOverride(program, cli);
  return program;
}

function applyExitOverride(cmd: Command, cli: CliEnv): void {
  const json = cli.env.__CRSYNC_JSON === '1';
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => cli.stdout.write(s),
    // With --json the usage error is reported once, as JSON, by run().
    writeErr: (s) => (json ? undefined : cli.stderr.write(s)),
  });
  for (const sub of cmd.commands) applyExitOverride(sub, cli);
}

/** Parses argv and runs the command; returns the exit code. Never throws. */
export async function run(argv: string[], cli: CliEnv): Promise<number> {
  const wantsJson = argv.includes('--json');
  useExtensionPath(cli.env.CRSYNC_CRSQLITE_PATH);
  const cliEnv: CliEnv = { ...cli, env: { ...cli.env, __CRSYNC_JSON: wantsJson ? '1' : '0' } };
  const program = createProgram(cliEnv);
  lastContext = undefined;
  try {
    await program.parseAsync(argv, { from: 'node' });
    return currentContext()?.exitCode ?? ExitCode.ok;
  } catch (err) {
    const out =
      currentContext()?.out ?? makeOutput(cliEnv, { json: wantsJson, color: !argv.includes('--no-color'), debug: argv.includes('--debug') });
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return ExitCode.ok;
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

/** Entry point used by bin/crsync.js. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new CrsyncError('interrupted', 'interrupted'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
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
  process.exitCode = code;
}
