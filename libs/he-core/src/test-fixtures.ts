/**
 * Shared fixtures for the specs: engines and keysets are expensive (keygen ~1 s), so each spec file
 * builds them once. Not exported from the package index.
 * @module
 */
import { HeEngine, type PublicKeyHandle, type SecretKeyHandle } from './engine.js';
import type { SecretKeyset } from './keyset.js';
import { ckksParamsForDepth } from './params.js';
import { rotationStepsForWidth } from './rotation.js';

export interface Fixture {
  engine: HeEngine;
  keys: SecretKeyset;
  pk: PublicKeyHandle;
  sk: SecretKeyHandle;
}

/** Engine at `depth` with relinearisation keys and the power-of-two steps for a full slot sum. */
export async function fixture(depth: number, opts: { steps?: number[]; relin?: boolean } = {}): Promise<Fixture> {
  const engine = await HeEngine.create(ckksParamsForDepth(depth));
  const keys = engine.generateKeyset({ galoisSteps: opts.steps ?? rotationStepsForWidth(engine.slots), relin: opts.relin ?? true });
  return { engine, keys, pk: engine.usePublicKeyset(keys.publicKeyset), sk: engine.useSecretKeyset(keys) };
}

/** Deterministic PRNG (mulberry32) so failures reproduce; the seed is printed by the tests that use it. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function relErr(got: number, want: number, floor = 1e-6): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), floor);
}
