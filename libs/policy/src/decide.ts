import type { PolicyDecision, PolicyReason, UsagePolicy, UsageRequest, UsageSoFar } from './types.js';

/**
 * Relative slack when comparing epsilon sums: budgets are decimal (10, 0.3) while the sum of
 * charges is binary floating point (0.1 + 0.2 = 0.30000000000000004). Without it a consumer
 * who spends a budget in exact decimal steps would be refused the last step.
 */
const EPSILON_SLACK = 1e-9;

function checkFiniteNonNegative(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`${name} must be a finite number >= 0, got ${typeof v === 'number' ? String(v) : typeof v}`);
  }
  return v;
}

function checkStringArray(name: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new TypeError(`${name} must be an array of strings`);
  return v;
}

function checkArguments(policy: UsagePolicy, request: UsageRequest, usage: UsageSoFar, now: Date): number | null {
  if (typeof policy !== 'object' || policy === null) throw new TypeError('policy must be an object');
  if (typeof request !== 'object' || request === null) throw new TypeError('request must be an object');
  if (typeof usage !== 'object' || usage === null) throw new TypeError('usage must be an object');
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('now must be a valid Date');
  checkStringArray('policy.consumers', policy.consumers);
  checkStringArray('policy.purposes', policy.purposes);
  checkStringArray('policy.aggregations', policy.aggregations);
  checkStringArray('request.aggregations', request.aggregations);
  if (typeof request.consumerId !== 'string' || request.consumerId === '')
    throw new TypeError('request.consumerId must be a non-empty string');
  if (typeof request.purpose !== 'string') throw new TypeError('request.purpose must be a string');
  if (typeof request.rowLevel !== 'boolean') throw new TypeError('request.rowLevel must be a boolean');
  if (typeof policy.rowLevel !== 'boolean') throw new TypeError('policy.rowLevel must be a boolean');
  checkFiniteNonNegative('request.minGroupSize', request.minGroupSize);
  checkFiniteNonNegative('request.epsilon', request.epsilon);
  checkFiniteNonNegative('policy.minGroupSize', policy.minGroupSize);
  checkFiniteNonNegative('usage.epsilonSpent', usage.epsilonSpent);
  checkFiniteNonNegative('usage.jobsToday', usage.jobsToday);
  if (policy.epsilonBudget !== null) checkFiniteNonNegative('policy.epsilonBudget', policy.epsilonBudget);
  if (policy.jobsPerDay !== undefined && policy.jobsPerDay !== null) checkFiniteNonNegative('policy.jobsPerDay', policy.jobsPerDay);
  if (policy.noise !== undefined && policy.noise !== null) {
    if (typeof policy.noise !== 'object' || typeof policy.noise.required !== 'boolean')
      throw new TypeError('policy.noise must be null or { required: boolean, maxEpsilonPerJob? }');
    const max = policy.noise.maxEpsilonPerJob;
    if (max !== undefined && max !== null) checkFiniteNonNegative('policy.noise.maxEpsilonPerJob', max);
  }
  if (policy.scenarios !== undefined && policy.scenarios !== null && !Array.isArray(policy.scenarios))
    throw new TypeError('policy.scenarios must be null or an array');
  if (policy.minAlignedKeys !== undefined && policy.minAlignedKeys !== null)
    checkFiniteNonNegative('policy.minAlignedKeys', policy.minAlignedKeys);
  if (request.scenario !== undefined) {
    const sc = request.scenario;
    if (
      typeof sc !== 'object' ||
      sc === null ||
      typeof sc.id !== 'string' ||
      typeof sc.hash !== 'string' ||
      !Number.isInteger(sc.version)
    ) {
      throw new TypeError('request.scenario must be { id: string, version: integer, hash: string }');
    }
  }
  if (request.alignment !== undefined) {
    const k = request.alignment?.keys;
    if (k !== null) checkFiniteNonNegative('request.alignment.keys', k);
    const roles = request.alignment?.roles;
    if (roles !== undefined) checkFiniteNonNegative('request.alignment.roles', roles);
  }
  if (policy.expiresAt === null) return null;
  const expires = typeof policy.expiresAt === 'string' ? Date.parse(policy.expiresAt) : Number.NaN;
  if (Number.isNaN(expires)) throw new TypeError('policy.expiresAt must be null or an ISO 8601 date-time');
  return expires;
}

/**
 * Decides whether one job may use one dataset under the dataset's usage policy.
 *
 * Pure: the same inputs give the same decision, nothing is read or written; the caller supplies
 * the usage so far and the clock, and must charge the budget atomically with the decision
 * (the broker re-checks inside the transaction that records the charge).
 *
 * Every failing condition is reported, not just the first, so a consumer can fix a job in one round.
 * Semantics at the boundaries:
 * - consumers: `"*"` matches anyone; otherwise the consumer id or its name must be listed.
 * - aggregations: every `agg` the job applies to this dataset must be listed.
 * - rowLevel: refused only when the job releases row-level outputs and the policy forbids them.
 * - minGroupSize: the job's threshold must be at least the policy's.
 * - budget: `epsilonSpent + epsilon <= epsilonBudget` is allowed (spending the budget exactly is
 *   fine). A noise-free job (epsilon 0) charges nothing and is not refused for budget: the budget
 *   caps Laplace releases (docs/scenario-format.md, "Release"), exact aggregates are governed by the
 *   aggregation list and minGroupSize, unless the policy requires noise (below): then no exact job runs,
 *   and every job that reads the dataset is charged.
 * - expiry: `expiresAt` is the first instant at which use is refused (`now >= expiresAt`).
 * - jobsPerDay: refused when `jobsToday >= jobsPerDay` (jobsToday excludes this job).
 * - noise.required: a job with epsilon 0 (no Laplace noise) is refused (`NOISE_REQUIRED`); with the budget
 *   this makes every job that reads the dataset a charge against `epsilonBudget`.
 * - noise.maxEpsilonPerJob: a job charging more epsilon is refused (`EPSILON_ABOVE_MAX`); epsilon exactly the
 *   maximum is allowed. Applies to every noisy job, whether or not noise is required.
 * - scenarios: the job's scenario must match an entry, by `id` and `version` or by `hash`; a request that does
 *   not name its scenario is refused when the policy has an allowlist (`SCENARIO_NOT_ALLOWED`).
 * - minAlignedKeys: a job aligning this dataset on a consumer key list with fewer keys is refused
 *   (`TOO_FEW_KEYS`); a private set intersection (`alignment.keys` null) is checked by the caller when its
 *   size is known; a job that does not align this dataset is not concerned.
 * - aligned joint groups: a job that aligns this dataset's rows with another role's, releases exact values
 *   (epsilon 0) and has an effective minimum group size above 1 (the larger of the job's and this policy's) is
 *   refused (`ALIGNED_NOISE_REQUIRED`), whatever the policy's `noise` says. The broker can only bound a joint
 *   group's row count from above (the smallest of the providers' local counts); an exact job would hand the
 *   consumer every joint group's exact values and joint count, groups of 1 row included, for it to drop by
 *   cooperation only. Under Laplace noise a small joint group is readable only as an ε-DP noisy value (README,
 *   threat model; compiler README, "Aligned joint groups").
 */
export function decide(policy: UsagePolicy, request: UsageRequest, usage: UsageSoFar, now: Date): PolicyDecision {
  const expiresAt = checkArguments(policy, request, usage, now);
  const reasons: PolicyReason[] = [];

  const consumerOk =
    policy.consumers.includes('*') ||
    policy.consumers.includes(request.consumerId) ||
    (request.consumerName !== undefined && policy.consumers.includes(request.consumerName));
  if (!consumerOk) {
    reasons.push({
      code: 'CONSUMER_NOT_ALLOWED',
      message: `consumer ${request.consumerId} is not among the consumers this dataset's policy allows`,
      detail: { consumerId: request.consumerId },
    });
  }

  if (!policy.purposes.includes(request.purpose)) {
    reasons.push({
      code: 'PURPOSE_NOT_ALLOWED',
      message: `purpose "${request.purpose}" is not allowed; allowed: ${policy.purposes.join(', ') || '(none)'}`,
      detail: { purpose: request.purpose, allowed: [...policy.purposes] },
    });
  }

  const refusedAggs = [...new Set(request.aggregations.filter((a) => !policy.aggregations.includes(a)))];
  if (refusedAggs.length > 0) {
    reasons.push({
      code: 'AGGREGATION_NOT_ALLOWED',
      message: `aggregation${refusedAggs.length > 1 ? 's' : ''} ${refusedAggs.join(', ')} not allowed; allowed: ${policy.aggregations.join(', ') || '(none)'}`,
      detail: { refused: refusedAggs, allowed: [...policy.aggregations] },
    });
  }

  if (request.rowLevel && !policy.rowLevel) {
    reasons.push({ code: 'ROW_LEVEL_NOT_ALLOWED', message: "row-level outputs are not allowed by this dataset's policy" });
  }

  if (request.minGroupSize < policy.minGroupSize) {
    reasons.push({
      code: 'GROUP_SIZE_TOO_SMALL',
      message: `minimum group size ${request.minGroupSize} is below the policy's ${policy.minGroupSize}`,
      detail: { requested: request.minGroupSize, required: policy.minGroupSize },
    });
  }

  if (policy.epsilonBudget !== null && request.epsilon > 0) {
    const budget = policy.epsilonBudget;
    const after = usage.epsilonSpent + request.epsilon;
    if (after > budget + EPSILON_SLACK * Math.max(1, budget)) {
      const remaining = Math.max(0, budget - usage.epsilonSpent);
      reasons.push({
        code: 'BUDGET_EXHAUSTED',
        message: `epsilon ${request.epsilon} exceeds the remaining privacy budget ${remaining} (spent ${usage.epsilonSpent} of ${budget})`,
        detail: { requested: request.epsilon, spent: usage.epsilonSpent, budget, remaining },
      });
    }
  }

  if (expiresAt !== null && now.getTime() >= expiresAt) {
    reasons.push({
      code: 'POLICY_EXPIRED',
      message: `the dataset's policy expired at ${new Date(expiresAt).toISOString()}`,
      detail: { expiresAt: new Date(expiresAt).toISOString() },
    });
  }

  const daily = dailyLimitReason(policy, usage.jobsToday);
  if (daily) reasons.push(daily);

  const noise = policy.noise ?? null;
  if (noise?.required === true && request.epsilon === 0) {
    reasons.push({
      code: 'NOISE_REQUIRED',
      message: "this dataset's policy requires Laplace noise on every job that reads it (release.noise); this job releases exact values",
      detail: { requested: 0, maxEpsilonPerJob: noise.maxEpsilonPerJob ?? null },
    });
  }
  const maxEpsilon = noise?.maxEpsilonPerJob ?? null;
  if (maxEpsilon !== null && request.epsilon > maxEpsilon + EPSILON_SLACK * Math.max(1, maxEpsilon)) {
    reasons.push({
      code: 'EPSILON_ABOVE_MAX',
      message: `epsilon ${request.epsilon} per job is above the policy's maximum ${maxEpsilon}`,
      detail: { requested: request.epsilon, maxEpsilonPerJob: maxEpsilon },
    });
  }

  const allowlist = policy.scenarios ?? null;
  if (allowlist !== null) {
    const sc = request.scenario;
    const listed =
      sc !== undefined && allowlist.some((r) => ('hash' in r ? r.hash === sc.hash : r.id === sc.id && r.version === sc.version));
    if (!listed) {
      reasons.push({
        code: 'SCENARIO_NOT_ALLOWED',
        message:
          sc === undefined
            ? "this dataset's policy allows only listed scenarios, and the job does not name its scenario"
            : `scenario ${sc.id} version ${sc.version} (hash ${sc.hash}) is not among the scenarios this dataset's policy allows`,
        detail: sc === undefined ? {} : { scenario: sc.id, version: sc.version, hash: sc.hash },
      });
    }
  }

  const minKeys = policy.minAlignedKeys ?? null;
  const keys = request.alignment?.keys ?? null;
  if (minKeys !== null && keys !== null && keys < minKeys) {
    reasons.push({
      code: 'TOO_FEW_KEYS',
      message: `the job aligns on ${keys} key${keys === 1 ? '' : 's'}; this dataset's policy requires at least ${minKeys}`,
      detail: { keys, minAlignedKeys: minKeys },
    });
  }

  const jointMin = Math.max(request.minGroupSize, policy.minGroupSize);
  if (request.alignment !== undefined && (request.alignment.roles ?? 2) >= 2 && request.epsilon === 0 && jointMin > 1) {
    reasons.push({
      code: 'ALIGNED_NOISE_REQUIRED',
      message: `the job aligns this dataset's rows with another role's and suppresses groups under ${jointMin} rows: the broker cannot cut joint groups by their exact count, so every aligned metric needs Laplace noise (release.noise)`,
      detail: { minGroupSize: jointMin, requested: 0 },
    });
  }

  return { allow: reasons.length === 0, reasons };
}

/**
 * The policy's `jobsPerDay` against the consumer's jobs on the dataset today (this job not counted): the reason to
 * refuse, or null. `decide` applies it, and the broker's admission applies it again where admissions go one at a time.
 */
export function dailyLimitReason(policy: Pick<UsagePolicy, 'jobsPerDay'>, jobsToday: number): PolicyReason | null {
  const perDay = policy.jobsPerDay ?? null;
  if (perDay === null || jobsToday < perDay) return null;
  return {
    code: 'DAILY_LIMIT_REACHED',
    message: `daily limit of ${perDay} job${perDay === 1 ? '' : 's'} reached`,
    detail: { jobsToday, jobsPerDay: perDay },
  };
}

/**
 * Whether a policy withholds a job's exact row counts from the consumer (`meta.rows`, `meta.missingKeys`, the
 * providers' counts in the job's progress and in the usage events the consumer reads): when it requires noise or
 * suppresses groups under `minGroupSize` rows, an exact count would undo both (one aligned key answers 1 or 0 rows
 * as its owner is in the data or not). A job binding any such dataset withholds them for every role, since aligned
 * roles share their counts.
 */
export function withholdsCounts(policy: Pick<UsagePolicy, 'noise' | 'minGroupSize'>): boolean {
  return policy.noise?.required === true || policy.minGroupSize > 1;
}
