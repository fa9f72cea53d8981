import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions } from '@nestjs/throttler';
import { AppError } from '#contracts';
import { hashToken } from './auth.js';
import type { AppConfig } from './config.js';

interface TrackedRequest {
  ip?: string;
  socket?: { remoteAddress?: string };
  headers: Record<string, string | string[] | undefined>;
}

function bearer(req: TrackedRequest): string | undefined {
  const h = req.headers['authorization'];
  return typeof h === 'string' && h.length > 0 ? h : undefined;
}

/**
 * Two limits, both counted before the token is even looked up (so guessing tokens is limited too):
 * requests per client address, and requests per bearer credential (keyed by the header's hash, so several
 * credentials behind one address and one credential used from several addresses are each held to theirs).
 */
export function rateLimitOptions(cfg: AppConfig): ThrottlerModuleOptions {
  return {
    throttlers: [
      {
        name: 'address',
        ttl: cfg.RATE_LIMIT_WINDOW_MS,
        limit: cfg.RATE_LIMIT_PER_ADDRESS,
        getTracker: (req) => String((req as TrackedRequest).ip ?? (req as TrackedRequest).socket?.remoteAddress ?? 'unknown'),
      },
      {
        name: 'credential',
        ttl: cfg.RATE_LIMIT_WINDOW_MS,
        limit: cfg.RATE_LIMIT_PER_CREDENTIAL,
        skipIf: (ctx) => bearer(ctx.switchToHttp().getRequest<TrackedRequest>()) === undefined,
        getTracker: (req) => hashToken(bearer(req as TrackedRequest) ?? ''),
      },
    ],
  };
}

/** The throttler's guard, refusing with the project's error shape (429 RATE_LIMITED). */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(_ctx: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppError(
      'RATE_LIMITED',
      `too many requests: at most ${detail.limit} per ${Math.round(detail.ttl / 1000)} s; retry in ${detail.timeToBlockExpire} s`,
      [],
      detail.timeToBlockExpire,
    );
  }
}
