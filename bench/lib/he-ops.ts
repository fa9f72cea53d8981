/**
 * Item 6: the broker's HE stage against the sum of its primitive operations. The operations a plan's
 * circuit performs are counted the way `evaluateCircuit` (libs/scenario compiler/circuit.ts) and the
 * evaluation worker (apps/worker evaluation.worker.ts, he-task.ts) perform them, from the number of
 * ciphertexts each provider uploaded per feature; each count is multiplied by that operation's cost
 * measured here with `#he-core` at the plan's own parameters and keys.
 */
import { HeEngine, decodePublicKeyset, encodePublicKeyset, type Ct, type HeParams, type SecretKeyset } from '#he-core';
import type { Plan } from '#scenario';

export type OpName = 'load' | 'save' | 'add' | 'addPlain' | 'mulPlain' | 'mul' | 'rotate' | 'encrypt' | 'decrypt' | 'keysetLoad';

/** Measured µs per operation (median of `reps`). */
export type OpCosts = Record<OpName, number>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function time(reps: number, fn: () => void): number {
  fn(); // warm-up: first calls allocate WASM memory and JIT the glue
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    xs.push((performance.now() - t) * 1000);
  }
  return median(xs);
}

/** Costs (µs, one thread, this process) of every primitive the circuit uses, at the keyset's parameters. */
export async function measureOpCosts(keys: SecretKeyset, reps: number): Promise<OpCosts> {
  if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`reps must be a positive integer, got ${reps}`);
  const engine = await HeEngine.create(keys.params);
  try {
    const pkBytes = encodePublicKeyset(keys.publicKeyset);
    const keysetLoad = time(Math.min(reps, 5), () => {
      const e = engine.usePublicKeyset(decodePublicKeyset(pkBytes));
      engine.releaseKeys(e);
    });
    const pk = engine.usePublicKeyset(keys.publicKeyset);
    const sk = engine.useSecretKeyset(keys);
    const vec = Float64Array.from({ length: engine.slots }, (_, i) => (i % 97) / 97);
    const a = engine.encrypt(pk, vec);
    const b = engine.encrypt(pk, vec);
    const bytes = engine.save(a);
    const one = (fn: () => Ct): void => engine.free(fn());
    const costs: OpCosts = {
      encrypt: time(reps, () => one(() => engine.encrypt(pk, vec))),
      load: time(reps, () => one(() => engine.load(bytes))),
      save: time(reps, () => void engine.save(a)),
      add: time(reps, () => one(() => engine.add(a, b))),
      addPlain: time(reps, () => one(() => engine.addPlain(a, vec))),
      mulPlain: time(reps, () => one(() => engine.multiplyPlain(a, vec))),
      mul: keys.publicKeyset.relinKeys && engine.maxLevel > 0 ? time(reps, () => one(() => engine.multiply(a, b, pk))) : NaN,
      rotate: keys.publicKeyset.galoisSteps.includes(1) ? time(reps, () => one(() => engine.rotate(a, 1, pk))) : NaN,
      decrypt: time(reps, () => void engine.decrypt(sk, a)),
      keysetLoad,
    };
    engine.free(a);
    engine.free(b);
    return costs;
  } finally {
    engine.dispose();
  }
}

export type OpCounts = Record<OpName, number>;

const zero = (): OpCounts => ({
  load: 0,
  save: 0,
  add: 0,
  addPlain: 0,
  mulPlain: 0,
  mul: 0,
  rotate: 0,
  encrypt: 0,
  decrypt: 0,
  keysetLoad: 0,
});

/**
 * Counts the primitive operations of the broker's evaluation of `plan`, given the uploaded chunk count
 * of every `role/feature`, and `threads` HE threads (features consumed only by a `reduce` are first
 * pre-reduced in `threads` parts when they have at least 2·threads chunks: each part is loaded,
 * summed, saved and loaded again by the evaluating thread).
 */
export function countCircuitOps(plan: Plan, chunks: Record<string, number>, threads: number, reducible: Set<string>): OpCounts {
  const c = zero();
  c.keysetLoad = 1;
  const width = new Map<string, number>();
  const ownedInput = new Set<string>();
  for (const n of plan.circuit.nodes) {
    let w = 1;
    switch (n.op) {
      case 'input': {
        const key = `${n.role}/${n.feature}`;
        const k = chunks[key];
        if (k === undefined) throw new Error(`no chunk count for ${key}`);
        c.load += k;
        if (reducible.has(key) && threads >= 2 && k >= 2 * threads) {
          const size = Math.ceil(k / threads);
          const parts = Math.ceil(k / size);
          c.add += k - parts;
          c.save += parts;
          c.load += parts;
          w = parts;
        } else w = k;
        ownedInput.add(n.id);
        break;
      }
      case 'private':
        c.load += 1;
        ownedInput.add(n.id);
        break;
      case 'reduce':
        c.add += (width.get(n.a) ?? 1) - 1;
        break;
      case 'add':
        w = Math.max(...n.args.map((a) => width.get(a) ?? 1));
        c.add += (n.args.length - 1) * w;
        break;
      case 'sub':
        w = Math.max(width.get(n.a) ?? 1, width.get(n.b) ?? 1);
        c.add += w;
        break;
      case 'mul':
        w = Math.max(width.get(n.a) ?? 1, width.get(n.b) ?? 1);
        c.mul += w;
        break;
      case 'mulPlain':
      case 'mask':
        w = width.get(n.a) ?? 1;
        c.mulPlain += w;
        break;
      case 'addPlain':
      case 'noise':
        w = width.get(n.a) ?? 1;
        c.addPlain += w;
        break;
      case 'sumSlots':
        w = width.get(n.a) ?? 1;
        c.rotate += w * Math.log2(n.width);
        c.add += w * Math.log2(n.width);
        break;
    }
    width.set(n.id, w);
  }
  for (const o of plan.outputs) {
    const w = width.get(o.node) ?? 1;
    c.save += w;
    // an output that is an input (or a length-1 reduce of one) is copied with an addPlain of zeros
    if (ownedInput.has(o.node)) c.addPlain += w;
  }
  return c;
}

export function costOf(counts: OpCounts, costs: OpCosts): { totalMs: number; byOp: Record<string, number> } {
  const byOp: Record<string, number> = {};
  let total = 0;
  for (const [op, n] of Object.entries(counts) as [OpName, number][]) {
    if (n === 0) continue;
    const us = costs[op];
    if (!Number.isFinite(us)) throw new Error(`no measured cost for ${op}`);
    byOp[op] = (n * us) / 1000;
    total += byOp[op]!;
  }
  return { totalMs: total, byOp };
}

export function paramsLabel(p: HeParams): string {
  return `CKKS N=${p.polyModulusDegree} q=[${p.coeffModulusBits.join(',')}] scale 2^${p.scaleBits}`;
}
