/**
 * Dry-run cost estimate of a plan from row counts and the node-seal 6 operation costs measured
 * on this machine kind (sealbench figures in libs/he-core/src/bench.ts, "node-seal 6 facts" and "The floor"; one core, Node 20).
 */
import type { Plan } from './plan-types.js';

/** Measured milliseconds per operation (sealbench figures in libs/he-core/src/bench.ts), by polynomial modulus degree. */
const OP_MS: Record<number, { encrypt: number; add: number; mulPlain: number; mul: number; rotate: number; decrypt: number }> = {
  4096: { encrypt: 1.5, add: 0.05, mulPlain: 0.47, mul: 1.6, rotate: 0.95, decrypt: 0.08 },
  8192: { encrypt: 4.4, add: 0.2, mulPlain: 1.96, mul: 6.8, rotate: 4.79, decrypt: 0.25 },
  16384: { encrypt: 15.9, add: 0.8, mulPlain: 8.2, mul: 38.2, rotate: 30, decrypt: 1 },
};
/** Galois key bytes per rotation step (sealbench figures in libs/he-core/src/bench.ts: 16.7 MB for the power-of-2 steps at N=8192, 85.8 MB at 16384). */
const GALOIS_BYTES_PER_STEP: Record<number, number> = { 4096: 0.25e6, 8192: 1.4e6, 16384: 6.6e6 };

export interface CostEstimate {
  ciphertextsPerRole: Record<string, number>;
  /** provider uploads + consumer downloads + evaluation keys, raw (uncompressed) bytes */
  bytesMoved: number;
  rotationKeys: number;
  /** one core: encryption at the providers + evaluation at the broker + decryption at the consumer */
  estimatedSeconds: number;
}

/** Bytes of a fresh CKKS ciphertext: 2 polynomials × N coefficients × 8 bytes × data primes. */
export function ciphertextBytes(plan: Plan): number {
  return 2 * plan.params.polyModulusDegree * 8 * (plan.params.coeffModulusBits.length - 1);
}

/**
 * Estimates a plan's cost. A TOTALS feature is one ciphertext per role (the provider sums its groups);
 * aligned features use the aligned key count (`alignedKeys`, or the plan's keys).
 */
export function costEstimate(plan: Plan, rowCounts: Record<string, number>, alignedKeys?: number): CostEstimate {
  const n = plan.params.polyModulusDegree;
  const ms = OP_MS[n] ?? OP_MS[8192];
  const K = alignedKeys ?? plan.align?.keys?.length ?? Math.max(0, ...Object.values(rowCounts));
  const chunksOf = new Map<string, number>();
  const ciphertextsPerRole: Record<string, number> = {};
  for (const [role, work] of Object.entries(plan.roles)) {
    const A = Math.max(1, Math.ceil(K / plan.slots));
    let total = 0;
    for (const f of work.features) {
      const c = f.layout === 'totals' ? 1 : A;
      chunksOf.set(`${role}/${f.id}`, c);
      total += c;
    }
    ciphertextsPerRole[role] = total;
  }
  const uploads = Object.values(ciphertextsPerRole).reduce((a, b) => a + b, 0) + plan.privateInputs.length;
  let evalMs = 0;
  const width = new Map<string, number>();
  for (const node of plan.circuit.nodes) {
    let w = 1;
    switch (node.op) {
      case 'input':
        w = chunksOf.get(`${node.role}/${node.feature}`) ?? 1;
        break;
      case 'private':
        break;
      case 'reduce':
        evalMs += ((width.get(node.a) ?? 1) - 1) * ms.add;
        break;
      case 'add':
        w = Math.max(...node.args.map((a) => width.get(a) ?? 1));
        evalMs += (node.args.length - 1) * w * ms.add;
        break;
      case 'sub':
        w = Math.max(width.get(node.a) ?? 1, width.get(node.b) ?? 1);
        evalMs += w * ms.add;
        break;
      case 'mul':
        w = Math.max(width.get(node.a) ?? 1, width.get(node.b) ?? 1);
        evalMs += w * ms.mul;
        break;
      case 'mulPlain':
      case 'mask':
        w = width.get(node.a) ?? 1;
        evalMs += w * ms.mulPlain;
        break;
      case 'addPlain':
      case 'noise':
        w = width.get(node.a) ?? 1;
        evalMs += w * ms.add;
        break;
      case 'sumSlots':
        w = width.get(node.a) ?? 1;
        evalMs += w * Math.log2(node.width) * (ms.rotate + ms.add);
        break;
    }
    width.set(node.id, w);
  }
  const outputs = plan.outputs.reduce((a, o) => a + (width.get(o.node) ?? 1), 0);
  const ct = ciphertextBytes(plan);
  const keyBytes = plan.galoisSteps.length * (GALOIS_BYTES_PER_STEP[n] ?? 1.4e6) + (plan.needsRelin ? ct * 2 : 0);
  return {
    ciphertextsPerRole,
    bytesMoved: (uploads + outputs) * ct + keyBytes,
    rotationKeys: plan.galoisSteps.length,
    estimatedSeconds: (uploads * ms.encrypt + evalMs + outputs * ms.decrypt) / 1000,
  };
}
