export { PsiParty } from './party.js';
export { PsiRouter, intersect } from './broker.js';
export type { IntersectionResult, ReblindTask } from './broker.js';
export { batchFromBase64, batchLength, batchToBase64 } from './batch.js';
export type { PointBatch } from './batch.js';
export { POINT_BYTES, SUITE, domainSeparationTag } from './group.js';
