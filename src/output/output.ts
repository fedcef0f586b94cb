import { Chalk, type ChalkInstance } from 'chalk';
import type { Ora } from 'ora';
import type { Writable } from 'node:stream';
import { CrsyncError } from '../errors.js';
import { stringifyJson } from '../values.js';

/** How the process may talk to the user; decided once in cli.ts from argv, env and TTY state. */
export interface OutputOptions {
  json: boolean;
  /** Colour on stdout (decided from stdout's own TTY state, see cli.ts). */
  stdoutColor: boolean;
  /** Colour on stderr (decided from stderr's own TTY state). */
  stderrColor: boolean;
  debug: boolean;
  /** -q: nothing on stderr but errors. */
  quiet?: boolean;
  /** -v: per-step detail, timings and HTTP requests on stderr. */
  verbose?: boolean;
  /** Spinners and live progress allowed (stderr is a TTY, not --json, not CI). */
  interactive: boolean;
  stdoutIsTTY: boolean;
  stdout: Writable;
  stderr: Writable;
}

/** Live progress of a long operation (a spinner on a TTY, silent otherwise). */
export interface Progress {
  update(text: string): void;
  done(text?: string): void;
  fail(text?: string): void;
}

/**
 * The one place that writes to the terminal. stdout carries data (results, rows); notes,
 * warnings, progress and human error text go to stderr. With --json, exactly one JSON document.
 */
export class Output {
  /** Styles text bound for stdout. */
  readonly c: ChalkInstance;
  /** Styles text bound for stderr: one instance per stream, so a redirected stdout stays plain. */
  readonly e: ChalkInstance;
  private spinner: Ora | undefined;

  constructor(readonly opts: OutputOptions) {
    this.c = new Chalk({ level: opts.stdoutColor && !opts.json ? 1 : 0 });
    this.e = new Chalk({ level: opts.stderrColor && !opts.json ? 1 : 0 });
  }

  get json(): boolean {
    return this.opts.json;
  }

  /** Prints a command's result: its JSON form, or what `human` renders of it. */
  result<T>(value: T, human?: (value: T, c: ChalkInstance) => string | undefined): void {
    if (this.opts.json) {
      this.opts.stdout.write(stringifyJson(value, 2) + '\n');
      return;
    }
    const text = human ? human(value, this.c) : stringifyJson(value, 2);
    if (text) this.opts.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Raw data to stdout (export, sql --csv). */
  data(text: string): void {
    this.opts.stdout.write(text);
  }

  /** A human note on stderr (hidden with --json). */
  note(text: string): void {
    if (this.opts.json || this.opts.quiet) return;
    this.clearSpinner();
    this.opts.stderr.write(text + '\n');
  }

  /** A warning on stderr (also with --json: stderr is not parsed). */
  warn(text: string): void {
    if (this.opts.quiet) return;
    this.clearSpinner();
    this.opts.stderr.write(this.e.yellow('warning: ') + text + '\n');
  }

  /** A log line on stderr (the hub's request log): shown unless -q, also with --json. */
  log(text: string): void {
    if (this.opts.quiet) return;
    this.clearSpinner();
    this.opts.stderr.write(text + '\n');
  }

  /** Per-step detail on stderr, only with -v (also with --json: stderr is not parsed). */
  detail(text: string): void {
    if (!this.opts.verbose || this.opts.quiet) return;
    this.clearSpinner();
    this.opts.stderr.write(this.e.dim(text) + '\n');
  }

  get verbose(): boolean {
    return this.opts.verbose === true && this.opts.quiet !== true;
  }

  /** Reports an error: the JSON error document on stdout with --json, else one line and a hint on stderr. */
  error(err: CrsyncError): void {
    this.clearSpinner();
    if (this.opts.json) {
      this.opts.stdout.write(stringifyJson({ error: err.toJSON() }, 2) + '\n');
    } else {
      this.opts.stderr.write(this.e.red('error: ') + err.message + '\n');
      if (err.hint) this.opts.stderr.write(this.e.dim('hint: ' + err.hint) + '\n');
    }
    if (this.opts.debug) {
      const stack = (err.cause instanceof Error ? err.cause.stack : undefined) ?? err.stack;
      if (stack) this.opts.stderr.write(stack + '\n');
    }
  }

  /** Starts live progress; a no-op outside an interactive terminal. */
  progress(text: string): Progress {
    if (!this.opts.interactive || this.opts.quiet) {
      return { update() {}, done() {}, fail() {} };
    }
    this.clearSpinner();
    // ora is loaded on first use (a few ms), so commands that never spin start faster.
    let spinner: Ora | undefined;
    let state: { text: string; end?: 'done' | 'fail'; final?: string } = { text };
    const finish = (end: 'done' | 'fail', t?: string): void => {
      state = { ...state, end, final: t };
      if (!spinner) return;
      if (t && end === 'done') spinner.succeed(t);
      else if (t) spinner.fail(t);
      else spinner.stop();
      if (this.spinner === spinner) this.spinner = undefined;
    };
    void import('ora').then(({ default: ora }) => {
      if (state.end) {
        if (state.final) this.opts.stderr.write(state.final + '\n');
        return;
      }
      // discardStdin: false keeps stdin out of raw mode, so Ctrl-C stays a signal (SIGINT).
      spinner = ora({ text: state.text, stream: this.opts.stderr as NodeJS.WriteStream, color: this.opts.stderrColor ? 'cyan' : false, discardStdin: false }).start();
      this.spinner = spinner;
    });
    return {
      update: (t) => {
        state.text = t;
        if (spinner) spinner.text = t;
      },
      done: (t) => finish('done', t),
      fail: (t) => finish('fail', t),
    };
  }

  private clearSpinner(): void {
    if (this.spinner?.isSpinning) this.spinner.clear();
  }
}
