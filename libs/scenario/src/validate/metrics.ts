/**
 * Checks of `metrics` (docs/scenario-format.md, "Metrics" table): names, aggs, fields per agg,
 * column types, multi-role lists, alignment, row-level release, derived metrics' operands,
 * their grouping and cycles (a cycle is reported once, where it closes).
 */
import type { Agg } from '../types.js';
import { isFiniteNumber, show } from './issues.js';
import {
  AGGS,
  checkBoolean,
  checkFields,
  checkName,
  checkText,
  has,
  isNumeric,
  isObject,
  isParamRef,
  resolveParam,
  resolveRef,
  suggest,
  type Ctx,
  type Path,
  type ResolvedRef,
} from './context.js';
import { MAX_DESCRIPTION_LENGTH } from './names.js';
import { checkBy, checkWhere, type Scope } from './where.js';

const COMMON = ['name', 'agg', 'release', 'description'];
const FIELDS: Record<Agg, readonly string[]> = {
  count: [...COMMON, 'role', 'where', 'by'],
  sum: [...COMMON, 'of', 'where', 'by'],
  mean: [...COMMON, 'of', 'where', 'by'],
  variance: [...COMMON, 'of', 'where', 'by'],
  stddev: [...COMMON, 'of', 'where', 'by'],
  histogram: [...COMMON, 'of', 'bins', 'where', 'by'],
  sumProduct: [...COMMON, 'of', 'where', 'by'],
  weightedSum: [...COMMON, 'of', 'weights', 'bias'],
  correlation: [...COMMON, 'of'],
  dot: [...COMMON, 'of'],
  ratio: [...COMMON, 'of'],
  difference: [...COMMON, 'of'],
};
const DERIVED: readonly Agg[] = ['correlation', 'dot', 'ratio', 'difference'];
/** Metrics whose value is one number (per group): the only valid operands of derived metrics. */
const SCALAR: readonly Agg[] = ['count', 'sum', 'mean', 'variance', 'stddev', 'sumProduct', ...DERIVED];
export const MAX_BINS = 1024;

/** Pass 1: every metric's name and agg, so derived metrics can refer forward. */
export function collectMetrics(ctx: Ctx, doc: Record<string, unknown>): unknown[] {
  if (!has(doc, 'metrics')) {
    ctx.issues.add([], 'required', 'metrics is required');
    return [];
  }
  const metrics = doc.metrics;
  if (!Array.isArray(metrics)) {
    ctx.issues.add(['metrics'], 'type', `metrics must be a list, not ${show(metrics)}`);
    return [];
  }
  if (metrics.length === 0) ctx.issues.add(['metrics'], 'empty', 'a scenario needs at least one metric');
  metrics.forEach((m: unknown, i) => {
    const mp = ['metrics', i];
    if (!isObject(m)) {
      ctx.issues.add(mp, 'type', `a metric must be an object like {"name": ..., "agg": ...}, not ${show(m)}`);
      return;
    }
    let agg: Agg | null = null;
    if (!has(m, 'agg')) ctx.issues.add(mp, 'required', `agg is required (one of ${AGGS.join(', ')})`);
    else if (typeof m.agg !== 'string' || !(AGGS as readonly string[]).includes(m.agg)) {
      ctx.issues.add(
        [...mp, 'agg'],
        'unknown_agg',
        `unknown agg ${show(m.agg)}; one of ${AGGS.join(', ')}${typeof m.agg === 'string' ? suggest(m.agg, AGGS) : ''}`,
      );
    } else agg = m.agg as Agg;
    if (!has(m, 'name')) {
      ctx.issues.add(mp, 'required', 'name is required');
      return;
    }
    if (typeof m.name !== 'string') {
      ctx.issues.add([...mp, 'name'], 'type', `name must be a string, not ${show(m.name)}`);
      return;
    }
    if (!checkName(ctx, m.name, [...mp, 'name'], 'metric')) return;
    const first = ctx.metrics.get(m.name);
    if (first) {
      ctx.issues.add([...mp, 'name'], 'duplicate', `metric name ${show(m.name)} is already used by /metrics/${first.index}`);
      return;
    }
    ctx.metrics.set(m.name, { index: i, raw: m, agg });
  });
  return metrics;
}

/** Refs of `of`: one ref or a list (`single`), or a list of exactly `arity` refs. */
function checkOfRefs(
  ctx: Ctx,
  m: Record<string, unknown>,
  mp: Path,
  opts: { single: boolean; arity?: number; what: string },
): { refs: ResolvedRef[]; paths: Path[]; complete: boolean } {
  const out = { refs: [] as ResolvedRef[], paths: [] as Path[], complete: false };
  const p = [...mp, 'of'];
  if (!has(m, 'of')) {
    ctx.issues.add(mp, 'required', `of is required: ${opts.what}`);
    return out;
  }
  let items: [unknown, Path][];
  if (typeof m.of === 'string' && opts.single) items = [[m.of, p]];
  else if (Array.isArray(m.of)) {
    if (m.of.length === 0) {
      ctx.issues.add(p, 'empty', `of needs at least one ref: ${opts.what}`);
      return out;
    }
    if (opts.arity !== undefined && m.of.length !== opts.arity) {
      ctx.issues.add(p, 'arity', `of takes exactly ${opts.arity} refs, not ${m.of.length}: ${opts.what}`);
    }
    items = m.of.map((x: unknown, i) => [x, [...p, i]]);
  } else {
    ctx.issues.add(p, 'type', `of must be ${opts.what}, not ${show(m.of)}`);
    return out;
  }
  let complete = true;
  for (const [x, xp] of items) {
    const r = resolveRef(ctx, x, xp);
    if (!r) complete = false;
    else {
      out.refs.push(r);
      out.paths.push(xp);
    }
  }
  out.complete = complete && (opts.arity === undefined || items.length === opts.arity);
  return out;
}

function requireNumeric(ctx: Ctx, refs: ResolvedRef[], paths: Path[], agg: Agg): void {
  refs.forEach((r, i) => {
    if (r.spec && !isNumeric(r.spec)) {
      ctx.issues.add(
        paths[i],
        'type_mismatch',
        `${agg} needs number or integer columns; ${r.ref} is ${r.spec.type === 'id' ? 'an id' : 'a category'} column${r.spec.type === 'category' ? ' (count it with by instead)' : ''}`,
      );
    }
  });
}

/** With `align`, every metric runs over aligned rows only: its roles must all be aligned. */
function requireAligned(ctx: Ctx, roles: string[], paths: Path[], needAlign: string | null, fallback: Path): void {
  if (!ctx.align) {
    if (needAlign) ctx.issues.add(paths[0] ?? fallback, 'not_aligned', needAlign);
    return;
  }
  roles.forEach((role, i) => {
    if (!ctx.align?.has(role)) {
      ctx.issues.add(paths[i], 'not_aligned', `role ${show(role)} is not in align.on: with align every metric runs over aligned rows only`);
    }
  });
}

/** Pass 2: everything about one metric except derived metrics' grouping. */
export function checkMetric(ctx: Ctx, m: Record<string, unknown>, i: number): void {
  const mp = ['metrics', i];
  const agg = has(m, 'agg') && (AGGS as readonly unknown[]).includes(m.agg) ? (m.agg as Agg) : null;
  checkBoolean(ctx, m, 'release', mp);
  checkText(ctx, m, 'description', mp, MAX_DESCRIPTION_LENGTH);
  if (!agg) {
    checkFields(ctx, m, [...new Set(Object.values(FIELDS).flat())], mp, 'a metric');
    return;
  }
  checkFields(ctx, m, FIELDS[agg], mp, `a ${agg} metric`);
  const name = typeof m.name === 'string' && ctx.metrics.get(m.name)?.index === i ? m.name : null;
  if (DERIVED.includes(agg)) return checkDerivedOperands(ctx, m, mp, agg);

  const roles: string[] = [];
  const rolePaths: Path[] = [];
  let rolesComplete = true;
  if (agg === 'count') {
    const p = [...mp, 'role'];
    if (!has(m, 'role')) {
      ctx.issues.add(mp, 'required', 'count needs role: a role or a list of roles whose rows are counted');
      rolesComplete = false;
    } else {
      const items: [unknown, Path][] =
        typeof m.role === 'string' ? [[m.role, p]] : Array.isArray(m.role) ? m.role.map((x: unknown, k) => [x, [...p, k]]) : [];
      if (!Array.isArray(m.role) && typeof m.role !== 'string')
        ctx.issues.add(p, 'type', `role must be a role name or a list of them, not ${show(m.role)}`);
      else if (items.length === 0) ctx.issues.add(p, 'empty', 'role needs at least one role');
      if (items.length === 0) rolesComplete = false;
      for (const [x, xp] of items) {
        if (typeof x !== 'string') {
          ctx.issues.add(xp, 'type', `expected a role name, not ${show(x)}`);
          rolesComplete = false;
        } else if (!ctx.roles.has(x)) {
          ctx.issues.add(xp, 'unknown_role', `role ${show(x)} is not in inputs${suggest(x, ctx.roles.keys())}`);
          rolesComplete = false;
        } else if (roles.includes(x)) {
          ctx.issues.add(xp, 'same_role', `role ${show(x)} is listed twice`);
        } else {
          roles.push(x);
          rolePaths.push(xp);
        }
      }
    }
    requireAligned(ctx, roles, rolePaths, null, mp);
  } else {
    const shape =
      agg === 'sumProduct'
        ? { single: false, arity: 2, what: 'a list of two number refs [a, b]' }
        : agg === 'weightedSum'
          ? { single: false, what: 'a list of number refs (aligned roles)' }
          : { single: true, what: 'a number ref or a list of refs in different roles' };
    const { refs, paths, complete } = checkOfRefs(ctx, m, mp, shape);
    rolesComplete = complete;
    requireNumeric(ctx, refs, paths, agg);
    if (agg === 'sumProduct' || agg === 'weightedSum') {
      const seen = new Set<string>();
      refs.forEach((r, k) => {
        if (agg === 'weightedSum' && seen.has(r.ref)) ctx.issues.add(paths[k], 'duplicate', `${r.ref} is listed twice`);
        seen.add(r.ref);
        if (!roles.includes(r.role)) {
          roles.push(r.role);
          rolePaths.push(paths[k]);
        }
      });
      const need =
        agg === 'weightedSum'
          ? 'weightedSum is one score per aligned key: it needs align'
          : roles.length > 1
            ? `sumProduct over two roles multiplies values of the same aligned key: it needs align covering ${roles.join(' and ')}`
            : null;
      requireAligned(ctx, roles, rolePaths, need, [...mp, 'of']);
    } else {
      refs.forEach((r, k) => {
        if (roles.includes(r.role))
          ctx.issues.add(paths[k], 'same_role', `${r.ref}: a list in of combines different roles; role ${show(r.role)} is already listed`);
        else {
          roles.push(r.role);
          rolePaths.push(paths[k]);
        }
      });
      requireAligned(ctx, roles, rolePaths, null, mp);
    }
  }

  if (agg === 'weightedSum') {
    checkWeights(ctx, m, mp, Array.isArray(m.of) ? m.of.length : null);
    if (!ctx.rowLevel) {
      ctx.issues.add(
        mp,
        'row_level_required',
        'weightedSum releases one value per key (row-level): it needs "release": {"rowLevel": true}',
      );
    }
    if (name) ctx.signatures.set(name, null);
    return;
  }
  if (agg === 'histogram') checkBins(ctx, m, mp);
  // Scope checks need the metric's full role list; with an unknown role they would mislead.
  const scope: Scope = { roles, kind: agg === 'sumProduct' && roles.length > 1 ? 'joined' : 'stacked' };
  if (has(m, 'where')) {
    if (rolesComplete) checkWhere(ctx, m.where, [...mp, 'where'], scope);
  }
  const sig = rolesComplete ? checkBy(ctx, m, mp, scope) : null;
  if (name) ctx.signatures.set(name, sig);
}

function checkBins(ctx: Ctx, m: Record<string, unknown>, mp: Path): void {
  const p = [...mp, 'bins'];
  if (!has(m, 'bins')) return ctx.issues.add(mp, 'required', 'histogram needs bins: ascending edges [e0, e1, ...]');
  const bins = m.bins;
  if (!Array.isArray(bins)) return ctx.issues.add(p, 'type', `bins must be a list of ascending numbers, not ${show(bins)}`);
  if (bins.length < 2) return ctx.issues.add(p, 'arity', 'bins needs at least two edges (one bin)');
  if (bins.length > MAX_BINS + 1) return ctx.issues.add(p, 'too_long', `at most ${MAX_BINS} bins`);
  bins.forEach((e: unknown, k) => {
    if (!isFiniteNumber(e)) ctx.issues.add([...p, k], 'type', `a bin edge must be a finite number, not ${show(e)}`);
    else if (k > 0 && isFiniteNumber(bins[k - 1]) && !(e > (bins[k - 1] as number))) {
      ctx.issues.add([...p, k], 'bins_not_ascending', `bin edge ${e} is not greater than the previous edge ${bins[k - 1] as number}`);
    }
  });
}

function checkWeights(ctx: Ctx, m: Record<string, unknown>, mp: Path, n: number | null): void {
  const p = [...mp, 'weights'];
  if (!has(m, 'weights')) ctx.issues.add(mp, 'required', 'weightedSum needs weights: one number per ref of of, or "$params.name"');
  else if (isParamRef(m.weights)) {
    const prm = resolveParam(ctx, m.weights, p);
    if (prm?.spec && prm.spec.type !== 'number-list')
      ctx.issues.add(p, 'param_type', `weights must name a number-list parameter; ${show(prm.name)} is ${prm.spec.type}`);
  } else if (Array.isArray(m.weights)) {
    m.weights.forEach((w: unknown, k) => {
      if (!isFiniteNumber(w)) ctx.issues.add([...p, k], 'type', `a weight must be a finite number, not ${show(w)}`);
    });
    if (n !== null && m.weights.length !== n)
      ctx.issues.add(p, 'length_mismatch', `${m.weights.length} weights for ${n} refs in of: one weight per ref`);
  } else ctx.issues.add(p, 'type', `weights must be a list of numbers or "$params.name", not ${show(m.weights)}`);
  if (has(m, 'bias')) {
    const bp = [...mp, 'bias'];
    if (isParamRef(m.bias)) {
      const prm = resolveParam(ctx, m.bias, bp);
      if (prm?.spec && prm.spec.type !== 'number')
        ctx.issues.add(bp, 'param_type', `bias must name a number parameter; ${show(prm.name)} is ${prm.spec.type}`);
    } else if (!isFiniteNumber(m.bias)) ctx.issues.add(bp, 'type', `bias must be a finite number or "$params.name", not ${show(m.bias)}`);
  }
}

/** Names in `of` of a derived metric: existing metrics that are one number per group. */
function checkDerivedOperands(ctx: Ctx, m: Record<string, unknown>, mp: Path, agg: Agg): void {
  const p = [...mp, 'of'];
  if (!has(m, 'of')) return ctx.issues.add(mp, 'required', `${agg} needs of: [metricA, metricB]`);
  if (!Array.isArray(m.of)) return ctx.issues.add(p, 'type', `of must be a list of two metric names, not ${show(m.of)}`);
  if (m.of.length !== 2) return ctx.issues.add(p, 'arity', `${agg} takes exactly two operands, not ${m.of.length}`);
  m.of.forEach((x: unknown, k) => {
    const xp = [...p, k];
    if (typeof x !== 'string') return ctx.issues.add(xp, 'type', `expected a metric name, not ${show(x)}`);
    if (isParamRef(x)) {
      if (agg !== 'dot' || k !== 1)
        return ctx.issues.add(
          xp,
          'unknown_metric',
          `${agg} operands are metrics; only dot's second operand may be a "$params.name" number-list`,
        );
      const prm = resolveParam(ctx, x, xp);
      if (prm?.spec && prm.spec.type !== 'number-list')
        ctx.issues.add(
          xp,
          'param_type',
          `dot's parameter operand must be a number-list (one value per group); ${show(prm.name)} is ${prm.spec.type}`,
        );
      return;
    }
    const target = ctx.metrics.get(x);
    if (!target) return ctx.issues.add(xp, 'unknown_metric', `no metric named ${show(x)}${suggest(x, ctx.metrics.keys())}`);
    if (target.agg && !SCALAR.includes(target.agg)) {
      ctx.issues.add(
        xp,
        'invalid_operand',
        `${show(x)} is a ${target.agg} (${target.agg === 'histogram' ? 'a list of counts' : 'row-level'}); ${agg} needs one number per group`,
      );
    }
  });
}

type Sig = string[][] | null;

/**
 * Pass 3: grouping of derived metrics. ratio/difference keep their operands' grouping;
 * dot/correlation reduce over groups to one number. A cycle is reported at the metric that closes it.
 */
export function checkDerivedGrouping(ctx: Ctx): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const sigOf = (name: string): Sig => {
    const e = ctx.metrics.get(name);
    if (!e || !e.agg) return null;
    if (!DERIVED.includes(e.agg)) return ctx.signatures.get(name) ?? null;
    const st = state.get(name);
    if (st === 'done') return ctx.signatures.get(name) ?? null;
    if (st === 'visiting') return null;
    state.set(name, 'visiting');
    const sig = derivedSig(name, e.raw, e.index, e.agg);
    state.set(name, 'done');
    ctx.signatures.set(name, sig);
    return sig;
  };
  const derivedSig = (name: string, m: Record<string, unknown>, i: number, agg: Agg): Sig => {
    if (!Array.isArray(m.of) || m.of.length !== 2) return null;
    const p = ['metrics', i, 'of'];
    const ops = m.of as unknown[];
    for (const x of ops) {
      if (typeof x === 'string' && (x === name || state.get(x) === 'visiting')) {
        ctx.issues.add(p, 'cycle', `${show(name)} depends on itself through ${show(x)}`);
        return null;
      }
    }
    const operandSig = (x: unknown): Sig | 'param' =>
      isParamRef(x) ? 'param' : typeof x === 'string' && ctx.metrics.has(x) ? sigOf(x) : null;
    const a = operandSig(ops[0]);
    const b = operandSig(ops[1]);
    const known = (s: Sig | 'param'): s is string[][] => s !== null && s !== 'param';
    if (agg === 'ratio' || agg === 'difference') {
      if (known(a) && known(b) && JSON.stringify(a) !== JSON.stringify(b)) {
        ctx.issues.add(
          p,
          'group_mismatch',
          `${show(ops[0])} and ${show(ops[1])} are grouped differently (${describe(a)} vs ${describe(b)}): ${agg} combines them group by group`,
        );
        return null;
      }
      return known(a) && known(b) ? a : null;
    }
    // dot and correlation: both operands grouped by equal category lists.
    if (known(a) && a.length === 0) ctx.issues.add([...p, 0], 'not_grouped', `${agg} runs across groups: ${show(ops[0])} needs by`);
    if (known(b) && b.length === 0) ctx.issues.add([...p, 1], 'not_grouped', `${agg} runs across groups: ${show(ops[1])} needs by`);
    if (known(a) && known(b) && a.length > 0 && b.length > 0 && JSON.stringify(a) !== JSON.stringify(b)) {
      ctx.issues.add(
        p,
        'group_mismatch',
        `${show(ops[0])} and ${show(ops[1])} are grouped differently (${describe(a)} vs ${describe(b)}): ${agg} pairs them group by group`,
      );
    }
    if (agg === 'correlation' && known(a) && a.length > 0 && a.reduce((n, v) => n * v.length, 1) < 2) {
      ctx.issues.add(p, 'too_few_groups', 'a correlation across groups needs at least two groups');
    }
    return [];
  };
  for (const name of ctx.metrics.keys()) sigOf(name);
}

function describe(sig: string[][]): string {
  return sig.length === 0 ? 'ungrouped' : sig.map((v) => `[${v.slice(0, 4).join(', ')}${v.length > 4 ? ', …' : ''}]`).join(' × ');
}
