import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import bodyParser from 'body-parser';
import { type Observable, from, switchMap } from 'rxjs';
import { AppError, type ErrorDetail } from '#contracts';
import type { AppConfig } from './config.js';
import { CONFIG } from './tokens.js';

export const BODY_LIMIT_KEY = 'dataspace:body-limit';
export const RAW_BODY_KEY = 'dataspace:raw-body';

/**
 * The largest JSON body a route accepts: bytes, or the name of a configuration entry holding bytes.
 * Routes without it accept `MAX_JSON_BYTES` (1 MB by default).
 */
export type BodyLimitKey = 'MAX_SCENARIO_BYTES' | 'MAX_JOB_BYTES' | 'MAX_CONNECTOR_JSON_BYTES';
export const BodyLimit = (limit: number | BodyLimitKey): MethodDecorator & ClassDecorator => SetMetadata(BODY_LIMIT_KEY, limit);
/** A route that streams its body itself (row imports, keysets, ciphertext parts): nothing parses it beforehand. */
export const RawBody = (): MethodDecorator & ClassDecorator => SetMetadata(RAW_BODY_KEY, true);

type EdgeRequest = IncomingMessage & { body?: unknown; params?: Record<string, unknown>; query?: Record<string, unknown> };

/** Longest path parameter (ids are UUIDs, 64-hex fingerprints or names of at most 100 characters). */
export const MAX_PARAM_LENGTH = 128;
/** Longest query-string value. */
export const MAX_QUERY_LENGTH = 1000;

/**
 * Every input a route sees, refused at the edge with 400 VALIDATION_FAILED rather than failing in the database:
 * NUL characters (PostgreSQL refuses them in text) in path parameters, query values and JSON strings or keys,
 * over-long path parameters and query values.
 */
export function checkRouteInputs(req: EdgeRequest): void {
  const problems: ErrorDetail[] = [];
  for (const [k, v] of Object.entries(req.params ?? {})) {
    if (typeof v !== 'string') continue;
    if (v.includes('\u0000')) problems.push({ path: `$param.${k}`, code: 'NUL_CHARACTER', message: 'must not contain a NUL character' });
    if (v.length > MAX_PARAM_LENGTH)
      problems.push({ path: `$param.${k}`, code: 'TOO_LONG', message: `at most ${MAX_PARAM_LENGTH} characters` });
  }
  for (const [k, v] of Object.entries(req.query ?? {})) {
    for (const s of Array.isArray(v) ? v : [v]) {
      if (typeof s !== 'string') continue;
      if (s.includes('\u0000')) problems.push({ path: `$query.${k}`, code: 'NUL_CHARACTER', message: 'must not contain a NUL character' });
      if (s.length > MAX_QUERY_LENGTH)
        problems.push({ path: `$query.${k}`, code: 'TOO_LONG', message: `at most ${MAX_QUERY_LENGTH} characters` });
    }
  }
  if (problems.length) throw new AppError('VALIDATION_FAILED', 'invalid request parameters', problems.slice(0, 20));
}

/** Refuses a JSON body with a NUL character in any string or key (walked without recursion). */
export function checkBody(body: unknown): void {
  if (body === null || typeof body !== 'object') {
    if (typeof body === 'string' && body.includes('\u0000')) throw nul('$');
    return;
  }
  const stack: { v: unknown; path: string }[] = [{ v: body, path: '$' }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) throw nul(path);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]` }));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) throw nul(path);
        stack.push({ v: x, path: `${path}.${k}` });
      }
    }
  }
}

function nul(path: string): AppError {
  return new AppError('VALIDATION_FAILED', 'text must not contain a NUL character', [
    { path, code: 'NUL_CHARACTER', message: 'must not contain a NUL character' },
  ]);
}

const isJson = (r: IncomingMessage): boolean => /json/i.test(String(r.headers['content-type'] ?? ''));

type Parser = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Parses a JSON body only once the guards (rate limit, bearer token, role) have let the request through, so an
 * unauthenticated or refused request never has its body read, let alone buffered and parsed; each route has its
 * own limit (a body declared larger is refused with 413 before a byte of it is read).
 * Nest runs guards, then interceptors, then the pipes that hand `@Body()` to the handler: this is the one place
 * between the two.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  private readonly parsers = new Map<number, Parser>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(RAW_BODY_KEY, targets)) {
      checkRouteInputs(ctx.switchToHttp().getRequest<EdgeRequest>());
      return next.handle();
    }
    const req = ctx.switchToHttp().getRequest<EdgeRequest>();
    const res = ctx.switchToHttp().getResponse<ServerResponse>();
    checkRouteInputs(req);
    const declared = this.reflector.getAllAndOverride<number | BodyLimitKey | undefined>(BODY_LIMIT_KEY, targets);
    const limit =
      declared !== undefined
        ? typeof declared === 'number'
          ? declared
          : this.cfg[declared]
        : // the connector protocol's JSON (upload commits carry per-group row counts) is authenticated machine traffic
          /^\/connector\//.test(req.url ?? '')
          ? this.cfg.MAX_CONNECTOR_JSON_BYTES
          : this.cfg.MAX_JSON_BYTES;
    return from(this.parse(req, res, limit).then(() => checkBody(req.body))).pipe(switchMap(() => next.handle()));
  }

  private parse(req: IncomingMessage, res: ServerResponse, limit: number): Promise<void> {
    // Only JSON is parsed here; any other body is left to the route (a ciphertext part streams its own, with its limit).
    if (!isJson(req)) return Promise.resolve();
    // Refuse a declared length over the limit at once (body-parser would read the whole body off first).
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      return Promise.reject(new AppError('PAYLOAD_TOO_LARGE', `body of ${declared} bytes is over this route's limit of ${limit}`));
    }
    let parser = this.parsers.get(limit);
    if (!parser) {
      parser = bodyParser.json({ limit, type: isJson }) as Parser;
      this.parsers.set(limit, parser);
    }
    const p = parser;
    return new Promise((resolve, reject) => p(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  }
}
