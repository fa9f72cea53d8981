/**
 * Row-level outputs (`weightedSum`; compiler/README.md, "Layouts", "Row level"): one score per aligned key the
 * consumer lists, needing `align.keys` and `release.rowLevel`. Public weights are folded by each provider into one
 * feature; private weights (and a private bias) are ciphertexts the consumer encrypts (`plan.privateInputs`),
 * multiplied ct × ct with each provider's column. One output ciphertext per chunk of keys; no rotation, no mask.
 */
import type { ParamValues, WeightedSumMetric } from '../types.js';
import type { NodeId } from './plan-types.js';
import { PRIVATE_PARAM_BOUND, VALUE_CAP, pow2floor } from './magnitude.js';
import type { CMetric } from './gval.js';
import type { PlanBuilder } from './builder.js';
import { CompileError, type Scope, isParam, paramName } from './scope.js';

type Term = { role: string; column: string; bound: number };

/** The public weights (null: private), one per ref. */
function publicWeights(sc: Scope, m: WeightedSumMetric, count: number, path: string): number[] | null {
  if (isParam(m.weights) && sc.s.params?.[paramName(m.weights)]?.private === true) return null;
  const w = isParam(m.weights) ? sc.params[paramName(m.weights)] : m.weights;
  if (!Array.isArray(w) || !w.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new CompileError(`${path}/weights`, 'param-missing', 'weights must be a list of numbers');
  if (w.length !== count)
    throw new CompileError(`${path}/weights`, 'weights-length', `${count} refs need ${count} weights, got ${w.length}`);
  return w as number[];
}

/** The public bias (0 when absent or private). */
function publicBias(params: ParamValues, m: WeightedSumMetric, privBias: boolean, path: string): number {
  if (m.bias === undefined || privBias) return 0;
  const b = isParam(m.bias) ? params[paramName(m.bias)] : m.bias;
  if (typeof b !== 'number' || !Number.isFinite(b)) throw new CompileError(`${path}/bias`, 'param-missing', 'bias must be a number');
  return b;
}

/** The refs, after checking that the scenario may release a row-level output over aligned keys. */
function rowLevelTerms(sc: Scope, m: WeightedSumMetric, path: string): Term[] {
  if (!sc.s.align)
    throw new CompileError(path, 'needs-align', 'weightedSum is a row-level output over aligned keys: the scenario needs align');
  if (!sc.alignKeys)
    throw new CompileError(
      '/align/keys',
      'row-level-needs-keys',
      'a row-level output is keyed by the keys the consumer lists: align.keys is required',
    );
  if (sc.s.release?.rowLevel !== true) throw new CompileError('/release/rowLevel', 'row-level', 'weightedSum needs release.rowLevel: true');
  const refs = m.of.map((r, i) => sc.numeric(r, `${path}/of/${i}`));
  for (const [i, r] of refs.entries())
    if (!sc.isAligned(r.role)) throw new CompileError(`${path}/of/${i}`, 'needs-align', `role ${r.role} is not in align.on`);
  return refs;
}

export function weightedSum(b: PlanBuilder, m: WeightedSumMetric, path: string): CMetric {
  const sc = b.scope;
  sc.noiseEpsilon(m, path);
  const refs = rowLevelTerms(sc, m, path);
  const privBias = isParam(m.bias) && sc.s.params?.[paramName(m.bias)]?.private === true;
  const weights = publicWeights(sc, m, refs.length, path);
  const bias = publicBias(sc.params, m, privBias, path);
  const biasBound = privBias ? PRIVATE_PARAM_BOUND : Math.abs(bias);
  /** the score's gain: slot = score × s (a power of two), |slot| <= VALUE_CAP for every row the bounds allow */
  const { parts, s } = weights ? foldedParts(b, refs, weights, biasBound) : privateParts(b, m, refs, biasBound);
  if (privBias) {
    const bp = paramName(m.bias as string);
    const bname = b.privateInput(
      { name: bp, param: bp, index: null, multiplier: s, layout: 'replicated', maxAbs: PRIVATE_PARAM_BOUND },
      m.name,
    );
    parts.push(b.node({ op: 'private', name: bname }));
  }
  let node = b.add(parts);
  if (bias !== 0) node = b.node({ op: 'addPlain', a: node, plain: { kind: 'keys', value: bias * s } });
  const factor = 1 / s;
  const outId = b.output(node, []);
  return { groups: null, decode: () => ({ kind: 'rows', outputs: [outId], factor }) };
}

/** Public weights: each provider folds its own terms into one feature (cheaper, reveals nothing new). */
function foldedParts(b: PlanBuilder, refs: Term[], ws: number[], biasBound: number): { parts: NodeId[]; s: number } {
  const s = pow2floor(VALUE_CAP / (refs.reduce((a, r, i) => a + Math.abs(ws[i]) * r.bound, 0) + biasBound || 1));
  const rolesInOrder = [...new Set(refs.map((r) => r.role))];
  const parts = rolesInOrder.map((role) => {
    const terms = refs.flatMap((r, i) => (r.role === role ? [{ column: r.column, weight: ws[i] }] : []));
    const fid = b.feature(role, {
      layout: 'aligned',
      value: { kind: 'linear', terms, scale: s },
      grouping: { columns: [] },
      width: b.scope.slots,
      rowLevel: true,
    });
    return b.node({ op: 'input', role, feature: fid });
  });
  return { parts, s };
}

/**
 * Private weights (|w| <= PRIVATE_PARAM_BOUND): term i is (x_i·g_i) × (w_i·m_i) with g_i·m_i = s for
 * every term, so each product is <= s·B_i·Wmax and the sum fits VALUE_CAP whatever the split. The
 * product's error in real units is e·(x/m + w/g), smallest at g = sqrt(s·w/x): g_i = 8·sqrt(s/B_i)
 * balances weights of order 1 against values ~B/64 (values sit well below their bounds; sizing
 * for |w| = Wmax and x = B would leave typical factors' ciphertexts tiny next to their noise).
 */
function privateParts(b: PlanBuilder, m: WeightedSumMetric, refs: Term[], biasBound: number): { parts: NodeId[]; s: number } {
  const pname = paramName(m.weights as string);
  const wmax = PRIVATE_PARAM_BOUND;
  const s = pow2floor(VALUE_CAP / (refs.reduce((a, r) => a + r.bound * wmax, 0) + biasBound));
  const parts = refs.map((r, i) => {
    const g = 8 * Math.sqrt(s / r.bound);
    const fid = b.feature(r.role, {
      layout: 'aligned',
      value: { kind: 'columns', factors: [{ column: r.column, power: 1 }], scale: g },
      grouping: { columns: [] },
      width: b.scope.slots,
      rowLevel: true,
    });
    const name = b.privateInput(
      { name: `${pname}[${i}]`, param: pname, index: i, multiplier: s / g, layout: 'replicated', maxAbs: wmax },
      m.name,
    );
    return b.mul(b.node({ op: 'input', role: r.role, feature: fid }), b.node({ op: 'private', name }));
  });
  return { parts, s };
}
