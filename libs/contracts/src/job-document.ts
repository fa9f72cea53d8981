import { z } from 'zod';

/**
 * The JSON documents a job carries besides its plan (table `jobs`: `progress`, `error`, `result_meta`; table
 * `job_datasets`: `meta`), typed once here for the broker that writes them, the connector that reports into them and
 * the consumer (SDK, CLI) that reads them from `GET /jobs/:id`. Counts only, never a value of a row.
 */

/**
 * A job's public parameters as the consumer sent them (`POST /jobs`): a number, a category, or a list of numbers or of
 * ids (`ParamValues` of `#scenario`); the scenario's own checks (`validateParams`) follow.
 */
export const jobParamsSchema = z.record(
  z.string().max(100),
  z.union([z.number(), z.string(), z.array(z.number()), z.array(z.string())], {
    error: 'a parameter value is a number, a string, or a list of numbers or of strings (the scenario says which)',
  }),
);
export type JobParams = z.infer<typeof jobParamsSchema>;

/** A count reported by a connector: a non-negative integer. */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * What a connector reports while it works on its role (`POST connector/jobs/:id/roles/:role/progress`): the step it is
 * at (`encoding`, `intersecting`, `encrypting`; the broker itself sets `pending` and `encrypted`) and, unless the
 * job withholds counts, the rows it read.
 */
export const providerReportSchema = z.strictObject({
  status: z.string().min(1).max(40),
  rows: count.optional(),
  ciphertexts: count.optional(),
  bytes: count.optional(),
});
export type ProviderReport = z.infer<typeof providerReportSchema>;

/** One role's line in a job's progress: its dataset and what its connector last reported. */
export interface ProviderProgress extends ProviderReport {
  dataset?: string;
}

/** A job's progress, as `GET /jobs/:id` shows it. */
export interface JobProgress {
  /** the job's stage: queued, encrypting, evaluating, completed, failed, cancelled */
  stage: string;
  providers: Record<string, ProviderProgress>;
  evaluation: { status: string; ms?: number };
  /** set when the consumer is denied exact row and missing-key counts (README, threat model) */
  counts?: 'withheld';
}

/** Why a job failed, as `GET /jobs/:id` shows it: a code, a message and, from a provider's refusal, its reasons. */
export interface JobError {
  code: string;
  message: string;
  details?: { code: string; message: string }[];
}

/**
 * What the consumer gets beside the plan to decode a result: the released suppression and noise, the HE parameters
 * and, unless the job withholds them (then `withheld` names them), the rows and missing keys per role.
 */
export interface ResultMeta {
  rows?: Record<string, number>;
  missingKeys?: Record<string, number> | undefined;
  withheld?: string[];
  suppressedGroups: Record<string, number[]>;
  epsilonSpent: number;
  selection?: { epsilon: number; delta: number };
  scheme: string;
  polyModulusDegree: number;
  evaluationMs: number;
}
