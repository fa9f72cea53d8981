/**
 * Types of the per-dataset usage policy (docs/datasets-and-policies.md; ODRL-like:
 * who may use a dataset, for what, how, how much, until when).
 */

/** The `agg` names of the scenario format (docs/scenario-format.md); a policy allows a subset. */
export const AGGREGATIONS = [
  'count',
  'sum',
  'mean',
  'variance',
  'stddev',
  'histogram',
  'sumProduct',
  'weightedSum',
  'correlation',
  'dot',
  'ratio',
  'difference',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** The policy part of a dataset document (docs/datasets-and-policies.md). */
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
  /**
   * Release noise the provider imposes, whatever the consumer's scenario asks: `required` refuses every job
   * reading the dataset without Laplace noise (`release.noise`), so every job that runs is charged to
   * `epsilonBudget`; `maxEpsilonPerJob` caps the epsilon one job charges (noise or not required).
   * `null`/absent = today's behaviour (noise optional, no cap).
   */
  noise?: NoisePolicy | null;
  /**
   * The scenarios that may read the dataset: an entry names a registered scenario version (`id` + `version`)
   * or the content hash of a scenario document (`hash`, see `scenarioHash`). `null`/absent = any scenario.
   */
  scenarios?: ScenarioRef[] | null;
  /**
   * The fewest keys a job aligned on this dataset may align on (the consumer's `align.keys` list, decided at
   * submission; or the private set intersection, decided when its size is known). `null`/absent = no minimum.
   */
  minAlignedKeys?: number | null;
}

export interface NoisePolicy {
  /** Every job reading the dataset must add Laplace noise (an exact job is refused: `NOISE_REQUIRED`). */
  required: boolean;
  /** The largest epsilon one job may charge to the dataset (`EPSILON_ABOVE_MAX`); `null`/absent = no cap. */
  maxEpsilonPerJob?: number | null;
}

/** An allowlist entry: a registered scenario version, or the content hash of a scenario document. */
export type ScenarioRef = { id: string; version: number } | { hash: string };

/** The scenario a job runs, as the policy's allowlist matches it. */
export interface ScenarioIdentity {
  id: string;
  version: number;
  /** `scenarioHash` of the scenario document at that version. */
  hash: string;
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
  /** The scenario the job runs; required when the policy has a `scenarios` allowlist (absent: refused). */
  scenario?: ScenarioIdentity;
  /**
   * Present when the job aligns this dataset's rows on an id column: `keys` is the number of distinct keys of
   * the consumer's `align.keys` list, or `null` for a private set intersection (its size is not known yet:
   * the broker checks `minAlignedKeys` when it is). `roles`: how many roles the job aligns (absent: taken
   * as 2 or more, i.e. joint groups across providers exist). Absent: the dataset's rows are not aligned.
   */
  alignment?: { keys: number | null; roles?: number };
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
  'NOISE_REQUIRED',
  'EPSILON_ABOVE_MAX',
  'SCENARIO_NOT_ALLOWED',
  'TOO_FEW_KEYS',
  'ALIGNED_NOISE_REQUIRED',
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
