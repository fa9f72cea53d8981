import { z } from 'zod';
import { SCENARIO_HASH } from './scenario-hash.js';
import { AGGREGATIONS } from './types.js';
import type { UsagePolicy } from './types.js';

/** Smallest epsilon (budget or charge) accepted: below it the Laplace scale overflows (1e-320 is subnormal). */
export const MIN_EPSILON = 1e-6;

/**
 * The policy part of a dataset document (docs/datasets-and-policies.md).
 * Strict: an unknown key is an error, so a typo (`"rowlevel"`) cannot silently widen or narrow a policy.
 */
export const usagePolicySchema = z
  .strictObject({
    consumers: z
      .array(z.string().min(1, 'a consumer must be a non-empty id, name or "*"'))
      .min(1, 'at least one consumer (or "*") is required'),
    purposes: z.array(z.string().min(1, 'a purpose must be non-empty')).min(1, 'at least one purpose is required'),
    aggregations: z.array(z.enum(AGGREGATIONS)).min(1, 'at least one aggregation is required'),
    rowLevel: z.boolean(),
    minGroupSize: z.int().min(1, 'minGroupSize must be at least 1'),
    epsilonBudget: z
      .number()
      .positive('epsilonBudget must be > 0 (or null for no budget)')
      .refine(Number.isFinite, 'epsilonBudget must be finite')
      .refine((v) => v >= MIN_EPSILON, `epsilonBudget must be at least ${MIN_EPSILON}`)
      .nullable(),
    expiresAt: z.iso.datetime({ offset: true }).nullable(),
    jobsPerDay: z.int().min(1, 'jobsPerDay must be at least 1 (or null for no limit)').nullable().optional(),
    noise: z
      .strictObject({
        required: z.boolean(),
        maxEpsilonPerJob: z
          .number()
          .positive('maxEpsilonPerJob must be > 0 (or null for no cap)')
          .refine(Number.isFinite, 'maxEpsilonPerJob must be finite')
          .refine((v) => v >= MIN_EPSILON, `maxEpsilonPerJob must be at least ${MIN_EPSILON}`)
          .nullable()
          .optional(),
      })
      .nullable()
      .optional(),
    scenarios: z
      .array(
        z.union(
          [
            z.strictObject({
              id: z.string().min(1, 'a scenario id is non-empty').max(100),
              version: z.int().min(1, 'a scenario version is at least 1'),
            }),
            z.strictObject({
              hash: z.string().regex(SCENARIO_HASH, 'a scenario hash is the SHA-256 of its canonical JSON, 64 lowercase hex digits'),
            }),
          ],
          { error: 'a scenario entry is { "id", "version" } or { "hash" }' },
        ),
      )
      .min(1, 'at least one scenario (or null for any scenario)')
      .max(1000)
      .nullable()
      .optional(),
    minAlignedKeys: z
      .int()
      .min(1, 'minAlignedKeys must be at least 1 (or null for no minimum)')
      .max(2 ** 31 - 1)
      .nullable()
      .optional(),
  })
  .superRefine((p, ctx) => {
    for (const [key, list] of [
      ['consumers', p.consumers],
      ['purposes', p.purposes],
      ['aggregations', p.aggregations],
    ] as const) {
      const seen = new Set<string>();
      list.forEach((v, i) => {
        if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [key, i], message: `duplicate entry in ${key}` });
        seen.add(v);
      });
    }
    const refs = new Set<string>();
    (p.scenarios ?? []).forEach((r, i) => {
      const key = 'hash' in r ? `#${r.hash}` : `${r.id}@${r.version}`;
      if (refs.has(key)) ctx.addIssue({ code: 'custom', path: ['scenarios', i], message: 'duplicate entry in scenarios' });
      refs.add(key);
    });
  });

// Compile-time check that the schema's output is assignable to the hand-written type.
type SchemaOutput = z.output<typeof usagePolicySchema>;
const _typeCheck: (p: SchemaOutput) => UsagePolicy = (p) => p;
void _typeCheck;
