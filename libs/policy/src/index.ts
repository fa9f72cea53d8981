export { dailyLimitReason, decide, withholdsCounts } from './decide.js';
export { usagePolicySchema } from './schema.js';
export { SCENARIO_HASH, scenarioHash } from './scenario-hash.js';
export { AGGREGATIONS, REASON_CODES } from './types.js';
export type {
  Aggregation,
  NoisePolicy,
  PolicyDecision,
  PolicyReason,
  ReasonCode,
  ReasonDetail,
  ScenarioIdentity,
  ScenarioRef,
  UsagePolicy,
  UsageRequest,
  UsageSoFar,
} from './types.js';
