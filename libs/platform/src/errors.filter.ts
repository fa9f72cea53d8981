import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { AppError, type ErrorCode } from '#contracts';

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/**
 * The one place errors become HTTP responses: `{error, message, details}`, never a stack trace,
 * never a 500 for bad input (body-parser and routing errors are mapped to 4xx here).
 */
@Catch()
export class ErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host
      .switchToHttp()
      .getResponse<{ headersSent: boolean; setHeader(k: string, v: string): void; status(n: number): { json(b: unknown): void } }>();
    const req = host.switchToHttp().getRequest<{ complete?: boolean }>();
    const { status, body } = this.toResponse(exception);
    if (status >= 500) this.logger.error(exception instanceof Error ? `${exception.name}: ${exception.message}` : 'unknown error');
    // A refused request whose body is still arriving (no token, too large, ...): answer now and close the
    // connection, rather than reading and discarding the rest of the body to keep the connection alive.
    if (req.complete === false && !res.headersSent) res.setHeader('connection', 'close');
    if (exception instanceof AppError && exception.retryAfterSeconds !== undefined && !res.headersSent)
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(exception.retryAfterSeconds))));
    if (!res.headersSent) res.status(status).json(body);
  }

  toResponse(e: unknown): { status: number; body: { error: ErrorCode | string; message: string; details: unknown[] } } {
    if (e instanceof AppError) return { status: e.status, body: e.toJSON() };
    // A value the database refuses to store as given (PostgreSQL SQLSTATE class 22, "data exception": a NUL
    // byte, a string too long for its column, a number out of range) is the caller's input: 400, not 500.
    // Edge validation should refuse such input first; this is the net under it.
    if (e instanceof QueryFailedError) {
      const code = (e.driverError as { code?: unknown } | undefined)?.code;
      // Two concurrent writers of the same key (PostgreSQL 23505; SQLite's constraint codes): one commits, the
      // other is told to retry rather than shown a 500.
      if (code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
        return { status: 409, body: { error: 'CONFLICT', message: 'a concurrent request changed the same record; retry', details: [] } };
      }
      if (typeof code === 'string' && code.startsWith('22')) {
        this.logger.warn(`database refused a value (SQLSTATE ${code}); answered 400`);
        return {
          status: 400,
          body: {
            error: 'VALIDATION_FAILED',
            message: 'a value in this request cannot be stored (too long, out of range or containing a NUL character)',
            details: [],
          },
        };
      }
    }
    const bp = e as BodyParserError;
    if (bp && typeof bp === 'object' && typeof bp.type === 'string') {
      if (bp.type === 'entity.parse.failed')
        return { status: 400, body: { error: 'MALFORMED_JSON', message: 'request body is not valid JSON', details: [] } };
      if (bp.type === 'entity.too.large')
        return { status: 413, body: { error: 'PAYLOAD_TOO_LARGE', message: 'request body too large', details: [] } };
      if (bp.type === 'encoding.unsupported' || bp.type === 'charset.unsupported')
        return { status: 415 as number, body: { error: 'BAD_REQUEST', message: 'unsupported body encoding', details: [] } };
    }
    if (e instanceof HttpException) {
      const status = e.getStatus();
      // Nest wraps body-parser's SyntaxError in a 400; never echo the parser's message (it quotes the body).
      if (status === 400 && (e.cause instanceof SyntaxError || /JSON/.test(e.message))) {
        return { status: 400, body: { error: 'MALFORMED_JSON', message: 'request body is not valid JSON', details: [] } };
      }
      if (status === 413) return { status: 413, body: { error: 'PAYLOAD_TOO_LARGE', message: 'request body too large', details: [] } };
      if (status === 429) return { status: 429, body: { error: 'RATE_LIMITED', message: 'too many requests', details: [] } };
      const code: string =
        status === 404
          ? 'NOT_FOUND'
          : status === 401
            ? 'UNAUTHENTICATED'
            : status === 403
              ? 'FORBIDDEN'
              : status === 413
                ? 'PAYLOAD_TOO_LARGE'
                : status === 409
                  ? 'CONFLICT'
                  : status < 500
                    ? 'BAD_REQUEST'
                    : 'INTERNAL';
      const r = e.getResponse();
      const message =
        status === 404
          ? 'no such route or resource'
          : typeof r === 'string'
            ? r
            : typeof (r as { message?: unknown }).message === 'string'
              ? (r as { message: string }).message
              : e.message;
      return { status, body: { error: code, message: status >= 500 ? 'internal error' : message, details: [] } };
    }
    return { status: 500, body: { error: 'INTERNAL', message: 'internal error', details: [] } };
  }
}
