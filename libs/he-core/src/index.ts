/**
 * @module he-core — homomorphic encryption for the data space (CKKS for real-valued circuits, BFV for
 * exact integer counts), the only code that imports node-seal.
 */
export { HeError, isHeErrorCode, type HeErrorCode } from './errors.js';
export {
  ckksParamsForDepth,
  bfvParamsForMagnitude,
  bfvCapacity,
  rotationSlots,
  BFV_DEFAULT_COEFF_BITS,
  MIN_PLAIN_BITS,
  MAX_PLAIN_BITS,
  MAX_PLAIN_BITS_8192,
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
  type BfvParams,
  type AnyHeParams,
} from './params.js';
export {
  encodePublicKeyset,
  decodePublicKeyset,
  encodeSecretKeyset,
  decodeSecretKeyset,
  decodeAnyPublicKeyset,
  decodeAnySecretKeyset,
  decodeBfvPublicKeyset,
  decodeBfvSecretKeyset,
  keysetFingerprint,
  type PublicKeyset,
  type SecretKeyset,
} from './keyset.js';
export { verifyPublicKeyset, publicKeysetBounds, checkSealObjectSize, zstdInflatedBound } from './keyset-check.js';
export { rotationStepsForWidth, planRotation } from './rotation.js';
export { HeEngine, type Ct, type PublicKeyHandle, type SecretKeyHandle } from './engine.js';
export { BfvEngine, bfvStepsForWidth, type BfvCt } from './bfv.js';
export { HePool } from './pool.js';
export { runHeBench, NATIVE_SEAL_US } from './bench.js';
export { setBackgroundNice, backgroundNice, lowerThisThread, lowerThisProcess } from './priority.js';
