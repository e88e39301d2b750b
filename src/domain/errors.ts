/**
 * The error catalogue (STYLE.md, habit 7). Every error the platform raises on purpose is an `AppError`
 * with a stable machine-readable `code`; the API's one error handler maps `statusCode` to HTTP and hides
 * the text of 5xx errors. Messages are for logs and developers; the web UI shows its own Russian text per
 * `code`. Adapters wrap foreign errors with `cause` and context (method, message id), never with tokens.
 */

export interface AppErrorOptions {
  /** HTTP status the API answers with; absent for errors that never reach a client (boot, workers). */
  statusCode?: number;
  /** Structured context for logs and API bodies (ids, field names), never secrets. */
  details?: Readonly<Record<string, unknown>>;
  /** The error this one wraps. */
  cause?: unknown;
}

/** Options of the subclasses: same as `AppErrorOptions`, plus a more specific `code` where a caller needs one. */
export interface AppErrorSubclassOptions extends Omit<AppErrorOptions, 'statusCode'> {
  /** Overrides the class's default code, e.g. `MSG_DUPLICATE` for a `ConflictError`. */
  code?: string;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: string;
  readonly statusCode: number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = options.statusCode;
    this.details = options.details;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** 400: a value from outside (request body, CSV row, payload) is wrong. */
export class ValidationError extends AppError {
  override name = 'ValidationError';
  readonly field: string;
  readonly reason: string;

  constructor(field: string, reason: string, options: AppErrorSubclassOptions = {}) {
    super(options.code ?? 'VALIDATION_FAILED', `${field}: ${reason}`, {
      statusCode: 400,
      details: { field, reason, ...options.details },
      cause: options.cause,
    });
    this.field = field;
    this.reason = reason;
  }
}

/** 404: the entity `entity` with id `id` does not exist (or is not visible to the caller). */
export class NotFoundError extends AppError {
  override name = 'NotFoundError';

  constructor(entity: string, id: string, options: AppErrorSubclassOptions = {}) {
    super(options.code ?? 'NOT_FOUND', `${entity} ${id} not found`, {
      statusCode: 404,
      details: { entity, id, ...options.details },
      cause: options.cause,
    });
  }
}

/** 401: the caller is not authenticated (no, expired or wrong credentials). */
export class AuthError extends AppError {
  override name = 'AuthError';

  constructor(message = 'Authentication required', options: AppErrorSubclassOptions = {}) {
    super(options.code ?? 'AUTH_REQUIRED', message, { ...options, statusCode: 401 });
  }
}

/** 403: the caller is authenticated but its role does not allow the action. */
export class ForbiddenError extends AppError {
  override name = 'ForbiddenError';

  constructor(message = 'Forbidden', options: AppErrorSubclassOptions = {}) {
    super(options.code ?? 'FORBIDDEN', message, { ...options, statusCode: 403 });
  }
}

/** 409: the action conflicts with the current state (a duplicate, a stale version). */
export class ConflictError extends AppError {
  override name = 'ConflictError';

  constructor(message: string, options: AppErrorSubclassOptions = {}) {
    super(options.code ?? 'CONFLICT', message, { ...options, statusCode: 409 });
  }
}

/**
 * 409: an incident status change that the status machine forbids (see incident-status.ts). `reason` is the
 * Russian explanation returned by `transition()`, so it is fit to show to staff.
 */
export class IllegalTransitionError extends AppError {
  override name = 'IllegalTransitionError';
  readonly from: string;
  readonly to: string;

  constructor(from: string, to: string, reason: string, options: Omit<AppErrorSubclassOptions, 'code'> = {}) {
    super('INCIDENT_ILLEGAL_TRANSITION', reason, {
      statusCode: 409,
      details: { from, to, ...options.details },
      cause: options.cause,
    });
    this.from = from;
    this.to = to;
  }
}

/**
 * Configuration (environment, calendar data) is wrong or missing. Raised at boot, never sent to a client.
 * `problems` holds one message per wrong or missing value, so the operator fixes them all in one go.
 */
export class ConfigError extends AppError {
  override name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options: AppErrorSubclassOptions = {}) {
    const list = problems.length > 0 ? problems : ['unknown configuration problem'];
    super(
      options.code ?? 'CONFIG_INVALID',
      `Invalid configuration:\n${list.map((p) => `  - ${p}`).join('\n')}`,
      {
        details: { problems: list, ...options.details },
        cause: options.cause,
      },
    );
    this.problems = Object.freeze([...list]);
  }
}
