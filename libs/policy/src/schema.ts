import { z } from 'zod';
import { AGGREGATIONS } from './types.js';
import type { UsagePolicy } from './types.js';

/** Smallest epsilon (budget or charge) accepted: below it the Laplace scale overflows (1e-320 is subnormal). */
export const MIN_EPSILON = 1e-6;

/**
 * The policy part of a dataset document (`../shared/INTERFACES.md`, "Dataset document").
 * Strict: an unknown key is an error, so a typo (`"rowlevel"`) cannot silently widen or narrow a policy.
 */
export const usagePolicySchema = z.strictObject({
  consumers: z.array(z.string().min(1, 'a consumer must be a non-empty id, name or "*"'))
    .min(1, 'at least one consumer (or "*") is required'),
  purposes: z.array(z.string().min(1, 'a purpose must be non-empty')).min(1, 'at least one purpose is required'),
  aggregations: z.array(z.enum(AGGREGATIONS)).min(1, 'at least one aggregation is required'),
  rowLevel: z.boolean(),
  minGroupSize: z.int().min(1, 'minGroupSize must be at least 1'),
  epsilonBudget: z.number().positive('epsilonBudget must be > 0 (or null for no budget)')
    .refine(Number.isFinite, 'epsilonBudget must be finite')
    .refine((v) => v >= MIN_EPSILON, `epsilonBudget must be at least ${MIN_EPSILON}`).nullable(),
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
  jobsPerDay: z.int().min(1, 'jobsPerDay must be at least 1 (or null for no limit)').nullable().optional(),
}).superRefine((p, ctx) => {
  for (const [key, list] of [['consumers', p.consumers], ['purposes', p.purposes], ['aggregations', p.aggregations]] as const) {
    const seen = new Set<string>();
    list.forEach((v, i) => {
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [key, i], message: `duplicate entry in ${key}` });
      seen.add(v);
    });
  }
});

// Compile-time check that the schema's output is assignable to the hand-written type.
type SchemaOutput = z.output<typeof usagePolicySchema>;
const _typeCheck: (p: SchemaOutput) => UsagePolicy = (p) => p;
void _typeCheck;
