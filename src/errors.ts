/** Process exit codes: the contract scripts rely on (documented in the README). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  auth: 4,
  schemaMismatch: 5,
  notInSync: 6,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface CrsyncErrorOptions {
  exitCode?: ExitCodeValue;
  hint?: string;
  details?: unknown;
  cause?: unknown;
}

/** The one error type of crsync: a stable snake_case code, an exit code, a one-line message and a hint. */
export class CrsyncError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(code: string, message: string, options: CrsyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CrsyncError';
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

export class UsageError extends CrsyncError {
  constructor(message: string, hint?: string, code = 'usage') {
    super(code, message, { exitCode: ExitCode.usage, hint });
  }
}

export class UnreachableError extends CrsyncError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('remote_unreachable', message, { exitCode: ExitCode.unreachable, hint, cause });
  }
}

export class AuthError extends CrsyncError {
  constructor(message: string, hint?: string, code = 'auth_failed') {
    super(code, message, { exitCode: ExitCode.auth, hint });
  }
}

export class SchemaMismatchError extends CrsyncError {
  constructor(message: string, details: unknown, hint?: string) {
    super('schema_mismatch', message, { exitCode: ExitCode.schemaMismatch, details, hint });
  }
}

/** Turns anything thrown into a CrsyncError; unknown errors become `internal`. */
export function toCrsyncError(err: unknown): CrsyncError {
  if (err instanceof CrsyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CrsyncError('internal', `internal error: ${message}`, {
    hint: 'run again with --debug for the stack trace, and report it',
    cause: err,
  });
}
