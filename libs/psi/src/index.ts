export { PsiParty, psiSuite } from './party.js';
export type { PsiPartyOptions } from './party.js';
export { PsiRouter, intersect } from './broker.js';
export type { IntersectionResult, ReblindTask } from './broker.js';
export { batchFromBase64, batchLength, batchToBase64 } from './batch.js';
export type { PointBatch } from './batch.js';
export { POINT_BYTES, SUITES, domainSeparationTag } from './suite.js';
export type { Blinder, PsiSuite, SuiteName } from './suite.js';
