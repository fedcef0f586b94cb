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

/** Families of errors: a family fixes the exit code of all its codes (README, "Exit codes"). */
export const FAMILIES = {
  /** The command line, or what it names, is wrong: fix the invocation. */
  usage: ExitCode.usage,
  /** A file, database, table, dataset, remote or conflict named is not there. */
  not_found: ExitCode.failure,
  /** What a command would create is there already (a file, folder or remote name). */
  exists: ExitCode.failure,
  /** The data or SQL given cannot be used. */
  input: ExitCode.failure,
  /** The file system or the machine refused (open, write, load, listen). */
  io: ExitCode.failure,
  /** A peer spoke the protocol wrongly, or a request is malformed. */
  protocol: ExitCode.failure,
  /** Over one of the receiver's limits (size or pace). */
  limit: ExitCode.failure,
  /** The hub is there but cannot serve now: worth another try. */
  unavailable: ExitCode.failure,
  /** The remote cannot be reached at all. */
  unreachable: ExitCode.unreachable,
  auth: ExitCode.auth,
  schema_mismatch: ExitCode.schemaMismatch,
  /** Stopped by a signal, a closed pipe or the user. */
  interrupted: ExitCode.failure,
  /** A bug of crsync. */
  internal: ExitCode.failure,
} as const satisfies Record<string, ExitCodeValue>;
export type ErrorFamily = keyof typeof FAMILIES;

interface ErrorSpec {
  family: ErrorFamily;
  /** The exit code of the CLI (always its family's). */
  exit: ExitCodeValue;
  /** The status the hub answers with (docs/protocol.md, "Errors"); 500 for codes no request causes. */
  status: number;
}

/**
 * Every error code crsync throws. A code names its family, its exit code and the hub's HTTP status;
 * `test/unit/errors.test.ts` checks that the exit code is the family's and that src throws no other.
 */
export const ERRORS = {
  // usage: exit 2 (the command line itself is wrong)
  usage:                  { family: 'usage', exit: 2, status: 400 },
  unknown_format:         { family: 'usage', exit: 2, status: 400 },
  empty_sql:              { family: 'usage', exit: 2, status: 400 },
  // named but not there, or there already: exit 1
  dir_not_empty:          { family: 'exists', exit: 1, status: 400 },
  file_exists:            { family: 'exists', exit: 1, status: 400 },
  dataset_not_empty:      { family: 'exists', exit: 1, status: 409 },
  no_such_conflict:       { family: 'not_found', exit: 1, status: 400 },
  no_such_remote:         { family: 'not_found', exit: 1, status: 400 },
  remote_exists:          { family: 'exists', exit: 1, status: 400 },
  // not found: exit 1
  dataset_not_found:      { family: 'not_found', exit: 1, status: 404 },
  not_found:              { family: 'not_found', exit: 1, status: 404 },
  db_not_found:           { family: 'not_found', exit: 1, status: 500 },
  file_not_found:         { family: 'not_found', exit: 1, status: 500 },
  no_such_table:          { family: 'not_found', exit: 1, status: 500 },
  no_such_column:         { family: 'not_found', exit: 1, status: 500 },
  not_a_replica:          { family: 'not_found', exit: 1, status: 500 },
  not_a_folder:           { family: 'input', exit: 1, status: 500 },
  // bad input: exit 1
  bad_input:              { family: 'input', exit: 1, status: 500 },
  unknown_columns:        { family: 'input', exit: 1, status: 500 },
  table_exists:           { family: 'input', exit: 1, status: 500 },
  not_a_database:         { family: 'input', exit: 1, status: 500 },
  not_trackable:          { family: 'input', exit: 1, status: 500 },
  sql_error:              { family: 'input', exit: 1, status: 500 },
  unsafe_migration:       { family: 'input', exit: 1, status: 500 },
  migration_failed:       { family: 'input', exit: 1, status: 500 },
  empty_migration:        { family: 'input', exit: 1, status: 500 },
  /** The remote is this replica itself (a file pushed into itself, or a copy with its site id). */
  same_site:              { family: 'input', exit: 1, status: 400 },
  // the machine refused: exit 1
  cannot_write:           { family: 'io', exit: 1, status: 500 },
  db_open_failed:         { family: 'io', exit: 1, status: 500 },
  extension_load_failed:  { family: 'io', exit: 1, status: 500 },
  listen_failed:          { family: 'io', exit: 1, status: 500 },
  store_incompatible:     { family: 'io', exit: 1, status: 500 },
  store_corrupt:          { family: 'io', exit: 1, status: 500 },
  tokens_unreadable:      { family: 'io', exit: 1, status: 500 },
  // protocol: exit 1 on a client; a 4xx from the hub
  bad_request:            { family: 'protocol', exit: 1, status: 400 },
  bad_stream:             { family: 'protocol', exit: 1, status: 400 },
  truncated_stream:       { family: 'protocol', exit: 1, status: 400 },
  bad_change:             { family: 'protocol', exit: 1, status: 400 },
  cursor_ahead:           { family: 'protocol', exit: 1, status: 400 },
  method_not_allowed:     { family: 'protocol', exit: 1, status: 405 },
  unsupported_encoding:   { family: 'protocol', exit: 1, status: 415 },
  unsupported_media_type: { family: 'protocol', exit: 1, status: 415 },
  headers_too_large:      { family: 'protocol', exit: 1, status: 431 },
  bad_response:           { family: 'protocol', exit: 1, status: 500 },
  remote_error:           { family: 'protocol', exit: 1, status: 500 },
  remote_behind:          { family: 'protocol', exit: 1, status: 500 },
  snapshot_corrupt:       { family: 'protocol', exit: 1, status: 500 },
  bad_snapshot:           { family: 'protocol', exit: 1, status: 400 },
  range_not_satisfiable:  { family: 'protocol', exit: 1, status: 416 },
  // limits: exit 1
  request_timeout:        { family: 'limit', exit: 1, status: 408 },
  frame_too_large:        { family: 'limit', exit: 1, status: 413 },
  page_too_large:         { family: 'limit', exit: 1, status: 413 },
  body_too_large:         { family: 'limit', exit: 1, status: 413 },
  value_too_large:        { family: 'limit', exit: 1, status: 413 },
  schema_too_large:       { family: 'limit', exit: 1, status: 413 },
  too_many_conflicts:     { family: 'limit', exit: 1, status: 413 },
  dataset_limit:          { family: 'limit', exit: 1, status: 403 },
  // unavailable: exit 1 (retried by the client, then remote_unreachable)
  busy:                   { family: 'unavailable', exit: 1, status: 503 },
  shutting_down:          { family: 'unavailable', exit: 1, status: 503 },
  hub_busy:               { family: 'unavailable', exit: 1, status: 503 },
  disk_full:              { family: 'io', exit: 1, status: 507 },
  remote_unavailable:     { family: 'unavailable', exit: 1, status: 500 },
  store_unavailable:      { family: 'unavailable', exit: 1, status: 503 },
  // unreachable: exit 3
  remote_unreachable:     { family: 'unreachable', exit: 3, status: 500 },
  tls_error:              { family: 'unreachable', exit: 3, status: 500 },
  remote_slow:            { family: 'unreachable', exit: 3, status: 500 },
  store_unreachable:      { family: 'unreachable', exit: 3, status: 500 },
  // auth: exit 4
  auth_failed:            { family: 'auth', exit: 4, status: 403 },
  unauthenticated:        { family: 'auth', exit: 4, status: 401 },
  forbidden:              { family: 'auth', exit: 4, status: 403 },
  site_owned:             { family: 'auth', exit: 4, status: 403 },
  // schema mismatch: exit 5
  schema_mismatch:        { family: 'schema_mismatch', exit: 5, status: 409 },
  unknown_table:          { family: 'schema_mismatch', exit: 5, status: 409 },
  unknown_column:         { family: 'schema_mismatch', exit: 5, status: 409 },
  // the library: exit 1
  replica_open:           { family: 'input', exit: 1, status: 500 },
  replica_closed:         { family: 'input', exit: 1, status: 500 },
  // live sync: exit 1
  watch_running:          { family: 'input', exit: 1, status: 500 },
  replica_gone:           { family: 'not_found', exit: 1, status: 500 },
  // stopped, and bugs: exit 1
  interrupted:            { family: 'interrupted', exit: 1, status: 500 },
  demo_failed:            { family: 'internal', exit: 1, status: 500 },
  internal:               { family: 'internal', exit: 1, status: 500 },
} as const satisfies Record<string, ErrorSpec>;

/** A code of the table: a typo in a throw site is a compile error. */
export type ErrorCode = keyof typeof ERRORS;

/** The codes of one family (what a family subclass may throw). */
export type CodeOf<F extends ErrorFamily> = { [K in ErrorCode]: (typeof ERRORS)[K]['family'] extends F ? K : never }[ErrorCode];

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

export interface CrsyncErrorOptions {
  /** Only where the table cannot know the exit code; each use says why. */
  exitCode?: ExitCodeValue;
  hint?: string;
  details?: unknown;
  cause?: unknown;
}

/** The one error type of crsync: a stable snake_case code, an exit code, a one-line message and a hint. */
export class CrsyncError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;
  /** The HTTP status the hub answers this error with. */
  readonly status: number;
  readonly hint: string | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: CrsyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CrsyncError';
    this.code = code;
    this.exitCode = options.exitCode ?? ERRORS[code].exit;
    this.status = ERRORS[code].status;
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
  constructor(message: string, hint?: string, code: CodeOf<'usage'> = 'usage') {
    super(code, message, { hint });
  }
}

export class UnreachableError extends CrsyncError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('remote_unreachable', message, { hint, cause });
  }
}

export class AuthError extends CrsyncError {
  constructor(message: string, hint?: string, code: CodeOf<'auth'> = 'auth_failed') {
    super(code, message, { hint });
  }
}

export class SchemaMismatchError extends CrsyncError {
  constructor(message: string, details: unknown, hint?: string) {
    super('schema_mismatch', message, { details, hint });
  }
}

/**
 * The code a client gives a hub's error answer: the hub's own when this crsync knows it with that
 * status, else one named from the status (an older or newer hub, a proxy, a body that is not JSON).
 */
export function codeOfAnswer(status: number, hubCode: unknown): ErrorCode {
  // A proxy's gateway error, a busy hub or one shutting down: worth another try (sync retries these).
  if (status >= 502 && status <= 504) return 'remote_unavailable';
  // The client's word for it: its credentials failed (the hub says `unauthenticated`).
  if (status === 401) return 'auth_failed';
  if (isErrorCode(hubCode) && ERRORS[hubCode].status === status) return hubCode;
  if (status === 403) return 'forbidden';
  if (status === 404) return 'dataset_not_found';
  if (status === 409) return 'schema_mismatch';
  return 'remote_error';
}

/** True when SQLite or the file system said the disk is full (along the cause chain). */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.code === 'SQLITE_FULL' || e.code === 'ENOSPC' || /database or disk is full|no space left on device/i.test(String(e.message ?? ''))) return true;
  }
  return false;
}

/**
 * Turns anything thrown into a CrsyncError; unknown errors become `internal`. A full disk is
 * no bug: it is `disk_full`, and since every write is one transaction, nothing was half-done.
 */
export function toCrsyncError(err: unknown): CrsyncError {
  if (err instanceof CrsyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isDiskFull(err)) {
    return new CrsyncError('disk_full', `the disk is full: ${message}`, {
      hint: 'free space on the disk of the replica (and of its temp folder); what was committed is kept, so run the command again afterwards',
      cause: err,
    });
  }
  return new CrsyncError('internal', `internal error: ${message}`, {
    hint: 'run again with --debug for the stack trace, and report it',
    cause: err,
  });
}
