/**
 * Errors every app maps to HTTP in one place (the exception filter) and the CLI prints in one line.
 * Domain code throws `AppError`, never Nest's HttpException (the domain does not know it is served over HTTP).
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNPROCESSABLE'
  | 'POLICY_REFUSED'
  | 'UNKNOWN_SCENARIO'
  | 'SCHEMA_MISMATCH'
  | 'KEYSET_MISMATCH'
  | 'PLAN_REFUSED'
  | 'LEDGER_UNAVAILABLE'
  | 'QUEUE_UNAVAILABLE'
  | 'NOT_READY'
  | 'RESULT_EXPIRED'
  | 'RATE_LIMITED'
  | 'TOO_MANY_JOBS'
  | 'INTERNAL';

export interface ErrorDetail {
  path?: string;
  code?: string;
  message: string;
  [k: string]: unknown;
}

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  POLICY_REFUSED: 403,
  UNKNOWN_SCENARIO: 404,
  SCHEMA_MISMATCH: 422,
  KEYSET_MISMATCH: 422,
  PLAN_REFUSED: 422,
  LEDGER_UNAVAILABLE: 503,
  QUEUE_UNAVAILABLE: 503,
  NOT_READY: 409,
  RESULT_EXPIRED: 410,
  RATE_LIMITED: 429,
  TOO_MANY_JOBS: 429,
  INTERNAL: 500,
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Seconds after which the same request may succeed (sent as `Retry-After` with a 429 or 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = STATUS[code];
  }
  toJSON(): { error: ErrorCode; message: string; details: ErrorDetail[] } {
    return { error: this.code, message: this.message, details: this.details };
  }
}

interface ZodIssueLike {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  /** a custom issue's own code (`params.code`, as the dataset columns' checks give it: MIN_GREATER_THAN_MAX, ...) */
  params?: unknown;
  /** a record key's own issues (`invalid_key`): the precise message is there */
  issues?: readonly { message: string }[];
}

/**
 * Turns a zod error into details with JSON paths (`$.a.b[0]`): a custom issue keeps its own code, a record key
 * issue its precise message (as `validateDatasetDocument` reports them).
 */
export function zodDetails(issues: readonly ZodIssueLike[]): ErrorDetail[] {
  return issues.map((i) => {
    const own = (i.params as { code?: unknown } | undefined)?.code;
    const code = i.code === 'custom' && typeof own === 'string' ? own : (i.code ?? 'invalid');
    const message = i.code === 'invalid_key' ? (i.issues?.[0]?.message ?? i.message) : i.message;
    return { path: jsonPath(i.path), code, message };
  });
}

export function jsonPath(path: readonly PropertyKey[]): string {
  let s = '$';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return s;
}
