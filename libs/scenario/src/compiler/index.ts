/** Plan compiler, provider encoding, broker circuit and consumer decoding (compiler/README.md). */
export type * from './plan-types.js';
export { compilePlan, planParamsForDepth, DEFAULT_ROW_BOUND } from './compile.js';
export { encodeRole } from './encode.js';
export type { EncodedRole } from './encode.js';
export {
  evaluateCircuit,
  reduceChunks,
  reducibleFeatures,
  suppressedGroups,
  releasedSlots,
  FILL_RANGE,
  FILL_MARGIN_BITS,
  FLOOD_OF_TOLERANCE,
} from './circuit.js';
export {
  cryptoRandom,
  seededRandom,
  discreteLaplace,
  truncatedDiscreteLaplace,
  gridLaplace,
  noiseGrid,
  rationalOf,
  GRID_BITS,
} from './sampler.js';
export type { RandomSource, Rational } from './sampler.js';
export type { CircuitEngine, EvaluationExtra, EvaluationMeta, EvaluationResult } from './circuit.js';
export {
  SELECTION_DELTA,
  selectionFor,
  selectionOffset,
  selectionCharge,
  combinedCounts,
  exactSuppressed,
  noisySuppressed,
} from './selection.js';
export type { Selection } from './selection.js';
export { decodeResult } from './decode.js';
export type { DecodeInfo } from './decode.js';
export { costEstimate, ciphertextBytes } from './cost.js';
export type { CostEstimate } from './cost.js';
