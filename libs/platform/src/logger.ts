import type { LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs (pino). Redaction is a second line of defence: code never passes tokens, keys or
 * row values to the logger, and these paths are censored if it ever does.
 */
export function createLogger(level: string, name = 'dataspace'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'secretKey',
        '*.secretKey',
        'rows',
        '*.rows',
      ],
      censor: '[redacted]',
    },
  });
}

/** Nest's logger port backed by pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pinoLogger: Logger) {}
  private write(level: 'info' | 'warn' | 'error' | 'debug' | 'trace', message: unknown, context?: unknown): void {
    const ctx = typeof context === 'string' ? { context } : {};
    if (message instanceof Error)
      this.pinoLogger[level]({ ...ctx, err: { name: message.name, message: message.message } }, message.message);
    else this.pinoLogger[level](ctx, String(message));
  }
  log(message: unknown, context?: unknown): void {
    this.write('info', message, context);
  }
  error(message: unknown, _trace?: unknown, context?: unknown): void {
    this.write('error', message, context);
  }
  warn(message: unknown, context?: unknown): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: unknown): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: unknown): void {
    this.write('trace', message, context);
  }
}
