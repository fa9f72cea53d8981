/** Public API of the plaintext reference evaluator (re-exported by the lib's `src/index.ts`). */
export { evaluateReference, pearson, UNGROUPED, type ReferenceMeta, type ReferenceOptions, type ReferenceResult } from './evaluate.js';
export { alignRows, clamp, normaliseRows, type Alignment } from './rows.js';
