/**
 * Metrics that combine other metrics' encrypted values (compiler/README.md, "Per agg", "Magnitudes and gains"):
 * `difference` (a `sub`, both operands rescaled to one unit in their masks when needed), `ratio` (the consumer
 * divides two released, or blinded, operands), `dot` (with a public or private list, or of two metrics) and
 * `correlation` (the five sums Pearson's r needs). Each sizes its masks so every slot stays under VALUE_CAP.
 */
import type { MetricDecoding, NodeId, Read } from './plan-types.js';
import type { CombineMetric } from '../types.js';
import { PRIVATE_PARAM_BOUND, SLOT_CAP, VALUE_CAP, laplaceTail } from './magnitude.js';
import { type CMetric, type GVal, maskVal, memoDecode, valueDecoding } from './gval.js';
import type { PlanBuilder } from './builder.js';
import { CompileError, isParam, paramName } from './scope.js';

/** Compiles (once) the metric a combination names. */
export type MetricResolver = (name: string, path: string) => CMetric;

function operands(resolve: MetricResolver, m: CombineMetric, path: string, allowParam: boolean): [CMetric, CMetric | null] {
  const [a, b] = m.of;
  const A = resolve(a, `${path}/of/0`);
  if (allowParam && isParam(b)) return [A, null];
  return [A, resolve(b, `${path}/of/1`)];
}

function sameGroups(a: CMetric, b: CMetric, path: string): void {
  if (JSON.stringify(a.groups) !== JSON.stringify(b.groups))
    throw new CompileError(`${path}/of`, 'groups-mismatch', 'the two metrics must be grouped by equal category lists');
}

function linear(x: CMetric, path: string): GVal {
  if (!x.gval)
    throw new CompileError(
      path,
      'operand-not-linear',
      'this operand is not a single encrypted value per group (use count, sum, a single-role mean, sumProduct or difference)',
    );
  return x.gval;
}

export function difference(b: PlanBuilder, resolve: MetricResolver, m: CombineMetric, path: string): CMetric {
  const eps = b.scope.noiseEpsilon(m, path);
  const [A, B] = operands(resolve, m, path, false) as [CMetric, CMetric];
  sameGroups(A, B, path);
  const x = linear(A, `${path}/of/0`);
  const y = linear(B, `${path}/of/1`);
  const conditions = [...new Set([...x.conditions, ...y.conditions])];
  const sens = x.sens + y.sens;
  const sameUnit = !x.clean && !y.clean && x.factor === y.factor && JSON.stringify(x.leaders) === JSON.stringify(y.leaders);
  // two values of at most VALUE_CAP each: their difference fits SLOT_CAP (release() rescales for noise)
  const [mx, my, f] = sameUnit && x.bound + y.bound <= SLOT_CAP ? [x, y, x.factor] : toOneUnit(b, x, y, eps, sens, conditions);
  const [u, v] = b.levelled([mx.node, my.node], true);
  const g: GVal = {
    ...mx,
    node: b.node({ op: 'sub', a: u, b: v }),
    factor: f,
    round: x.round && y.round,
    conditions,
    bound: mx.bound + my.bound,
    l1: mx.l1 + my.l1,
    sens,
  };
  if (x.anyGroup || y.anyGroup) g.anyGroup = true;
  return { groups: A.groups, gval: g, decode: memoDecode(valueDecoding(b, g, eps, g.round)) };
}

/**
 * Both operands of a difference brought to the larger factor (the smaller gain) in their masks, shrunk by t when
 * the two bounds plus the Laplace tail would exceed VALUE_CAP; scales are <= 1. Returns them and their factor.
 */
function toOneUnit(b: PlanBuilder, x: GVal, y: GVal, eps: number | null, sens: number, conditions: string[]): [GVal, GVal, number] {
  const f = Math.max(x.factor, y.factor);
  const tail = laplaceTail(sens, eps) / f;
  const t = Math.min(1, VALUE_CAP / ((x.bound * x.factor) / f + (y.bound * y.factor) / f + tail));
  const mx = maskVal(b, x, (x.factor / f) * t, conditions);
  const my = maskVal(b, y, (y.factor / f) * t, conditions);
  return [mx, my, f / t];
}

export function ratio(b: PlanBuilder, resolve: MetricResolver, m: CombineMetric, path: string): CMetric {
  b.scope.noiseEpsilon(m, path);
  const [A, B] = operands(resolve, m, path, false) as [CMetric, CMetric];
  if (A.groups && B.groups) sameGroups(A, B, path);
  const [a, c] = m.of;
  return {
    groups: A.groups ?? B.groups,
    decode: () => {
      // 0/0 reads as null (reference): a sum's empty group decodes as CKKS noise, not 0, so its emptiness
      // comes from counts (broker-side for stacked rows, the decrypted joint count for aligned ones)
      const emptyDen = B.empty ? [B.empty()] : [];
      const released = (name: string): boolean => b.scope.s.metrics.find((x) => x.name === name)?.release !== false;
      if (released(a) && released(c)) {
        // the consumer reads both operands anyway: divide the released values
        b.decodings[a] ??= A.decode();
        b.decodingGroups[a] ??= A.groups;
        b.decodings[c] ??= B.decode();
        b.decodingGroups[c] ??= B.groups;
        return { kind: 'ratio', a, b: c, ...(emptyDen.length ? { emptyDen } : {}) };
      }
      // an internal operand is never decryptable: both operands are released blinded by the same secret
      // factor per group, so only their quotient means anything (README, threat model)
      const id = `ratio:${m.name}`;
      const [na, nb] = [`${m.name}#a`, `${m.name}#b`];
      b.decodings[na] = A.decode(id);
      b.decodings[nb] = B.decode(id);
      return { kind: 'ratio', a: na, b: nb, blinded: true, ...(emptyDen.length ? { emptyDen } : {}) };
    },
  };
}

export function dot(b: PlanBuilder, resolve: MetricResolver, m: CombineMetric, path: string): CMetric {
  b.scope.noiseEpsilon(m, path);
  const [A, B] = operands(resolve, m, path, true);
  const a = linear(A, `${path}/of/0`);
  let product: { node: NodeId; factor: number };
  if (B === null) {
    const pname = paramName(m.of[1]);
    product = b.scope.s.params?.[pname]?.private === true ? dotPrivateList(b, a, pname, m.name) : dotPublicList(b, a, m, path);
  } else {
    sameGroups(A, B, path);
    product = dotMetrics(b, a, linear(B, `${path}/of/1`), path);
  }
  const total = b.node({ op: 'sumSlots', a: product.node, width: b.scope.slots });
  const conds = [...new Set([...a.conditions, ...(B ? linear(B, path).conditions : [])])];
  // the total sits in every slot (full rotate-and-sum): nothing partial to mask away
  const g: GVal = {
    node: total,
    groups: null,
    leaders: [0],
    clean: true,
    factor: product.factor,
    round: false,
    conditions: conds,
    bound: VALUE_CAP,
    l1: VALUE_CAP,
    sens: 0,
    anyGroup: true,
  };
  return { groups: null, gval: g, decode: memoDecode(valueDecoding(b, g, null, false)) };
}

/**
 * The consumer encrypts p_g·mult at the leader slots (|p_g| <= wmax); ct × ct keeps those slots. An unclean A is
 * masked first: its partial sums times the fresh noise of p's zero slots would otherwise add
 * ~sqrt(slots)·1e-9·bound to the total. Balanced: A' and p·mult both <= sqrt(VALUE_CAP).
 */
function dotPrivateList(b: PlanBuilder, a: GVal, pname: string, metric: string): { node: NodeId; factor: number } {
  const wmax = PRIVATE_PARAM_BOUND;
  const root = Math.sqrt(VALUE_CAP);
  const ma = a.clean ? a : maskVal(b, a, root / a.l1, a.conditions);
  const mult = Math.min(VALUE_CAP / (ma.l1 * wmax), VALUE_CAP / wmax);
  const name = b.privateInput(
    { name: pname, param: pname, index: null, multiplier: mult, layout: 'slots', slots: a.leaders, maxAbs: wmax },
    metric,
  );
  return { node: b.mul(ma.node, b.node({ op: 'private', name })), factor: ma.factor / mult };
}

/** A public list p_g: one mask multiplies each group's value by p_g·t. */
function dotPublicList(b: PlanBuilder, a: GVal, m: CombineMetric, path: string): { node: NodeId; factor: number } {
  const G = a.leaders.length;
  const p = b.scope.params[paramName(m.of[1])];
  if (!Array.isArray(p) || p.length !== G || !p.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new CompileError(`${path}/of/1`, 'param-missing', `${m.of[1]} must be a number-list with one value per group (${G})`);
  }
  const ps = p as number[];
  // Σ_g |A_g·p_g|·t <= max|p|·l1(A)·t = VALUE_CAP (also bounds every partial sum of the rotate-and-sum)
  const t = VALUE_CAP / ((Math.max(...ps.map(Math.abs)) || 1) * a.l1);
  const node = b.node({
    op: 'mask',
    a: a.node,
    entries: a.leaders.map((slot, g) => ({ group: g, slot, scale: ps[g] * t })),
    conditions: [],
  });
  return { node, factor: a.factor / t };
}

/**
 * Two metrics: Σ_g |a_g·b_g| <= min(max|a|·Σ|b|, max|b|·Σ|a|) = P; scale so sA·sB·P <= VALUE_CAP. A clean
 * operand without conditions needs no mask (saves a level); otherwise balance the two magnitudes.
 */
function dotMetrics(b: PlanBuilder, x: GVal, y: GVal, path: string): { node: NodeId; factor: number } {
  if (JSON.stringify(x.leaders) !== JSON.stringify(y.leaders))
    throw new CompileError(`${path}/of`, 'layout-mismatch', 'the two metrics use different slot layouts');
  const P = Math.min(x.bound * y.l1, y.bound * x.l1);
  const skipA = x.clean && x.conditions.length === 0;
  const skipB = y.clean && y.conditions.length === 0;
  let sA: number;
  let sB: number;
  if (skipA && skipB && P <= VALUE_CAP) [sA, sB] = [1, 1];
  else if (skipA) [sA, sB] = [1, Math.min(VALUE_CAP / P, VALUE_CAP / y.bound)];
  else if (skipB) [sA, sB] = [Math.min(VALUE_CAP / P, VALUE_CAP / x.bound), 1];
  else {
    sA = Math.min(Math.sqrt((VALUE_CAP / P) * (y.bound / x.bound)), VALUE_CAP / x.bound);
    sB = Math.min(VALUE_CAP / (P * sA), VALUE_CAP / y.bound);
  }
  const mx = skipA && sA === 1 ? x : maskVal(b, x, sA, []);
  const my = skipB && sB === 1 ? y : maskVal(b, y, sB, []);
  return { node: b.mul(mx.node, my.node), factor: mx.factor * my.factor };
}

export function correlation(b: PlanBuilder, resolve: MetricResolver, m: CombineMetric, path: string): CMetric {
  b.scope.noiseEpsilon(m, path);
  const [A, B] = operands(resolve, m, path, false) as [CMetric, CMetric];
  sameGroups(A, B, path);
  if (!A.groups) throw new CompileError(`${path}/of`, 'not-grouped', 'correlation across groups needs grouped metrics');
  const x = linear(A, `${path}/of/0`);
  const y = linear(B, `${path}/of/1`);
  // Pearson r is invariant to scaling each series: scale each in its mask so Σa², Σa (and, by
  // Cauchy-Schwarz, Σab) stay <= VALUE_CAP: Σa'² <= t²·max|a|·Σ|a|
  const fit = (v: GVal): number => Math.min(Math.sqrt(VALUE_CAP / (v.bound * v.l1)), VALUE_CAP / v.l1, VALUE_CAP / v.bound);
  const mx = maskVal(b, x, fit(x), []);
  const my = maskVal(b, y, fit(y), []);
  const conds = [...new Set([...x.conditions, ...y.conditions])];
  const tot = (n: NodeId): Read => ({
    output: b.output(b.node({ op: 'sumSlots', a: n, width: b.scope.slots }), conds, true),
    slots: [0],
    factor: 1,
  });
  const dec: MetricDecoding = {
    kind: 'correlation',
    sa: tot(mx.node),
    sb: tot(my.node),
    saa: tot(b.mul(mx.node, mx.node)),
    sbb: tot(b.mul(my.node, my.node)),
    sab: tot(b.mul(mx.node, my.node)),
    n: x.leaders.length,
  };
  return { groups: null, decode: () => dec };
}
