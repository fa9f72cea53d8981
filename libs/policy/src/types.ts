/**
 * Types of the per-dataset usage policy (`../shared/DESIGN.md`, "Usage policy"; ODRL-like:
 * who may use a dataset, for what, how, how much, until when).
 */

/** The `agg` names of the scenario format (`../shared/SCENARIO-FORMAT.md`); a policy allows a subset. */
export const AGGREGATIONS = [
  'count', 'sum', 'mean', 'variance', 'stddev', 'histogram',
  'sumProduct', 'weightedSum', 'correlation', 'dot', 'ratio', 'difference',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** The policy part of a dataset document (`../shared/INTERFACES.md`, "Dataset document"). */
export interface UsagePolicy {
  /** Consumer ids or names allowed; `"*"` allows any consumer. */
  consumers: string[];
  /** Purposes allowed (exact match). */
  purposes: string[];
  /** The `agg` names a job may apply to this dataset. */
  aggregations: string[];
  /** Whether row-level outputs (e.g. `weightedSum` per aligned key) may be released. */
  rowLevel: boolean;
  /** The smallest `release.minGroupSize` a job may run with. */
  minGroupSize: number;
  /** Total Laplace epsilon each consumer may spend on this dataset; `null` = no budget. */
  epsilonBudget: number | null;
  /** ISO 8601 instant from which the policy no longer allows any use; `null` = never expires. */
  expiresAt: string | null;
  /** Jobs per consumer per (UTC) day on this dataset; `null`/absent = no limit. */
  jobsPerDay?: number | null;
}

/** What a job asks of one bound dataset. */
export interface UsageRequest {
  consumerId: string;
  consumerName?: string;
  purpose: string;
  /** The `agg` of every metric that touches this dataset (duplicates allowed). */
  aggregations: string[];
  /** Whether the job releases row-level outputs. */
  rowLevel: boolean;
  /** The scenario's effective `release.minGroupSize`. */
  minGroupSize: number;
  /** The Laplace epsilon this job charges to the dataset (0 = no noise, nothing charged). */
  epsilon: number;
}

/** Usage recorded so far, for this consumer on this dataset. */
export interface UsageSoFar {
  /** Epsilon already charged by this consumer to this dataset. */
  epsilonSpent: number;
  /** Jobs of this consumer on this dataset already accepted today (not counting this one). */
  jobsToday: number;
}

export const REASON_CODES = [
  'CONSUMER_NOT_ALLOWED',
  'PURPOSE_NOT_ALLOWED',
  'AGGREGATION_NOT_ALLOWED',
  'ROW_LEVEL_NOT_ALLOWED',
  'GROUP_SIZE_TOO_SMALL',
  'BUDGET_EXHAUSTED',
  'POLICY_EXPIRED',
  'DAILY_LIMIT_REACHED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export type ReasonDetail = Record<string, string | number | boolean | null | string[]>;

export interface PolicyReason {
  code: ReasonCode;
  message: string;
  detail?: ReasonDetail;
}

export interface PolicyDecision {
  allow: boolean;
  /** Every failing reason, in the order of `REASON_CODES`; empty when allowed. */
  reasons: PolicyReason[];
}
