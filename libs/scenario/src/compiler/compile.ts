/**
 * The plan compiler: scenario document + public parameter values + public row counts → a plan
 * (compiler/README.md describes layouts, the circuit and what each party learns). Read top-down:
 * `compilePlan` settles the slot count, `compileBody` compiles every metric (metrics.ts, which picks each one's
 * layout) into a `PlanBuilder` (builder.ts), then derives the depth, the rotations, the release hygiene's halved
 * reads and the noisy selections' charge.
 */
import type { ParamValues, Scenario } from '../types.js';
import type { CircuitNode, CompileContext, CompileResult, Condition, OutputSpec, Plan, PlanError } from './plan-types.js';
import { selectionCharge, selectionFor } from './selection.js';
import { halveReads } from './reads.js';
import { stepsForWidth } from './layout.js';
import { HeError, type HeParams, ckksParamsForDepth } from '#he-core';
import { CompileError, DEFAULT_ROW_BOUND, Scope, alignKeysOf } from './scope.js';
import { PlanBuilder } from './builder.js';
import { MetricCompiler } from './metrics.js';

export { DEFAULT_ROW_BOUND };

/**
 * CKKS parameters for a multiplicative depth: `#he-core`'s presets (`ckksParamsForDepth`; its JSDoc
 * explains the prime sizes: a 2-prime base level for headroom, small rescale primes so key-switching
 * noise stays below encryption noise), or null when no preset at 128-bit security is deep enough.
 */
export function planParamsForDepth(depth: number): HeParams | null {
  try {
    return ckksParamsForDepth(Math.max(1, depth));
  } catch (e) {
    if (e instanceof HeError && e.code === 'DEPTH_EXCEEDED') return null;
    throw e;
  }
}

/**
 * Compiles a validated scenario into a plan. `params` holds the public parameter values (private
 * ones are absent: the consumer encrypts them as `plan.privateInputs` says). Refuses, with a path
 * and a reason, plans that exceed the slot capacity or the supported multiplicative depth.
 * The circuit is compiled for 4096 slots, and once more for 8192 when its depth needs N = 16384.
 */
export function compilePlan(scenario: Scenario, params: ParamValues, ctx: CompileContext = {}): CompileResult {
  let slots = 4096;
  for (let attempt = 0; attempt < 2; attempt++) {
    let body: PlanBody;
    try {
      body = compileBody(scenario, params, ctx, slots);
    } catch (e) {
      if (e instanceof CompileError) return { ok: false, errors: [{ path: e.path, code: e.code, message: e.message }] };
      throw e;
    }
    const he = planParamsForDepth(body.depth);
    if (!he) return { ok: false, errors: [depthError(body.depth)] };
    const heSlots = he.polyModulusDegree / 2;
    if (heSlots !== slots) {
      slots = heSlots;
      continue;
    }
    const plan: Plan = { format: 'dataspace-plan/1', scenario: scenario.id, params: he, slots, ...body };
    return { ok: true, plan };
  }
  throw new Error('internal: slot count did not settle');
}

function depthError(depth: number): PlanError {
  return {
    path: '/metrics',
    code: 'depth-capacity',
    message: `the circuit needs multiplicative depth ${depth}, above the supported maximum (9 at N=16384)`,
  };
}

type PlanBody = Omit<Plan, 'params' | 'depth' | 'format' | 'scenario' | 'slots'> & { depth: number };

/** Everything of the plan but its CKKS parameters, for `slots` slots per ciphertext. */
function compileBody(s: Scenario, params: ParamValues, ctx: CompileContext, slots: number): PlanBody {
  const scope = new Scope(s, params, ctx, slots, alignKeysOf(s, params));
  const b = new PlanBuilder(scope);
  const metrics = new MetricCompiler(b);
  for (const [i, m] of s.metrics.entries()) {
    const cm = metrics.metric(m.name, `/metrics/${i}`);
    if (m.release !== false) {
      b.released.push(m.name);
      b.decodings[m.name] = cm.decode();
      b.decodingGroups[m.name] = cm.groups;
    }
  }
  const depth = planDepth(b.nodes, b.outputs);
  const galoisSteps = rotationSteps(b.widths);
  halveReads(b.decodings, b.conditions);
  chargeSelections(scope, b.conditions);
  return {
    depth,
    galoisSteps,
    needsRelin: b.nodes.some((n) => n.op === 'mul'),
    align: s.align ? { on: { ...s.align.on }, keys: scope.alignKeys } : null,
    roles: Object.fromEntries(b.roles),
    circuit: { nodes: b.nodes },
    conditions: b.conditions,
    outputs: b.outputs,
    privateInputs: b.privateInputs,
    epsilon: b.epsilon + selectionCharge(b.conditions).epsilon,
    decoding: { metrics: b.decodings, groups: b.decodingGroups, released: b.released },
  };
}

/** The deepest output's level; a blinded output must not sit at the bottom level: its values reach 2^BLIND_BITS·SLOT_CAP (gval.ts `release`). */
function planDepth(nodes: CircuitNode[], outputs: OutputSpec[]): number {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const levelOf = (o: OutputSpec): number => {
    const n = byId.get(o.node);
    if (!n) return 0;
    const m = n.op === 'noise' ? byId.get(n.a) : n;
    return m?.op === 'mask' && m.blind ? m.level + 1 : n.level;
  };
  return Math.max(0, ...outputs.map(levelOf));
}

/** The rotations every rotate-and-sum needs, and step 0: release hygiene conjugates every output (circuit.ts `releaseOutputs`). */
function rotationSteps(widths: Set<number>): number[] {
  const galois = new Set<number>();
  for (const w of widths) for (const st of stepsForWidth(w)) galois.add(st);
  galois.add(0);
  return [...galois].sort((a, b) => a - b);
}

/** Under noise, small-group suppression is a noisy selection, charged like a metric (selection.ts). */
function chargeSelections(scope: Scope, conditions: Condition[]): void {
  const noise = scope.s.release?.noise;
  if (!noise) return;
  for (const c of conditions) if (c.kind === 'minGroupSize') c.selection = selectionFor(c, noise.epsilon, undefined, scope.unitOf(c));
}
