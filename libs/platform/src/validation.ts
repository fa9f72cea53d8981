import type { z } from 'zod';
import { AppError, zodDetails } from '#contracts';

/** Validates an external input once, at the edge, into a typed value; errors carry a code and a JSON path. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new AppError('VALIDATION_FAILED', `invalid ${what}`, zodDetails(r.error.issues));
  return r.data;
}
