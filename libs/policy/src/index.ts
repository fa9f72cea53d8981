export { decide } from './decide.js';
export { usagePolicySchema } from './schema.js';
export { AGGREGATIONS, REASON_CODES } from './types.js';
export type {
  Aggregation, PolicyDecision, PolicyReason, ReasonCode, ReasonDetail, UsagePolicy, UsageRequest, UsageSoFar,
} from './types.js';
