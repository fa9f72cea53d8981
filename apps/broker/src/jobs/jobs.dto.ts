import { z } from 'zod';
import { jobParamsSchema } from '#contracts';

/** A job submission, validated at the edge. Private parameters arrive as ciphertexts (base64), never as values. */
export const submitJobSchema = z.strictObject({
  scenario: z.string().min(1).max(100),
  version: z.number().int().positive().optional(),
  bindings: z.record(z.string().min(1).max(100), z.string().min(1).max(64)),
  keyset: z.string().regex(/^[0-9a-f]{64}$/, 'a keyset fingerprint (64 hex digits)'),
  purpose: z.string().min(1).max(100),
  params: jobParamsSchema.default({}),
  privateParams: z.record(z.string(), z.string().regex(/^[A-Za-z0-9+/=]+$/, 'base64')).default({}),
});
export type SubmitJob = z.infer<typeof submitJobSchema>;
