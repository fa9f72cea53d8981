/**
 * @module he-core — CKKS homomorphic encryption for the data space, the only code that imports node-seal.
 */
export { HeError, isHeErrorCode, type HeErrorCode } from './errors.js';
export {
  ckksParamsForDepth,
  paramsId,
  parseParamsId,
  slotCount,
  maxLevel,
  modulusLayout,
  validateParams,
  sameParams,
  MAX_DEPTH,
  MAX_COEFF_BITS_128,
  type HeParams,
} from './params.js';
export {
  encodePublicKeyset,
  decodePublicKeyset,
  encodeSecretKeyset,
  decodeSecretKeyset,
  keysetFingerprint,
  type PublicKeyset,
  type SecretKeyset,
} from './keyset.js';
export { rotationStepsForWidth, planRotation } from './rotation.js';
export { HeEngine, type Ct, type PublicKeyHandle, type SecretKeyHandle } from './engine.js';
export { HePool } from './pool.js';
export { runHeBench } from './bench.js';
