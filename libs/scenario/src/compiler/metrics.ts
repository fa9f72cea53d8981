/**
 * Compiles each metric once, by its agg, into the layout its rows need (compiler/README.md, "Layouts"): a metric
 * over one role, or over a list of roles stacked, is BLOCKED (totals.ts); one whose where/by/of spans several
 * aligned roles is ALIGNED (aligned.ts); `weightedSum` is row-level (row-level.ts); the others combine metrics
 * (combine.ts). Every noisy release is charged here, once per decoding (sequential composition).
 */
import type { Metric } from '../types.js';
import { bindWhereParams, whereRoles } from './where.js';
import type { CMetric } from './gval.js';
import type { PlanBuilder } from './builder.js';
import { CompileError, type RowMetric } from './scope.js';
import { totalsMetric } from './totals.js';
import { alignedMetric } from './aligned.js';
import { weightedSum } from './row-level.js';
import { correlation, difference, dot, ratio } from './combine.js';

export class MetricCompiler {
  private readonly metrics = new Map<string, CMetric>();
  private readonly compiling = new Set<string>();

  constructor(private readonly b: PlanBuilder) {}

  /** The compiled metric `name` (compiled on first use; a metric that depends on itself is refused). */
  readonly metric = (name: string, path: string): CMetric => {
    const known = this.metrics.get(name);
    if (known) return known;
    if (this.compiling.has(name)) throw new CompileError(path, 'metric-cycle', `metric ${name} depends on itself`);
    this.compiling.add(name);
    const m = this.b.scope.metricDoc(name, path);
    const out = this.charged(m, this.compile(m, path));
    this.compiling.delete(name);
    this.metrics.set(name, out);
    return out;
  };

  private compile(m: Metric, path: string): CMetric {
    const { b, metric } = this;
    switch (m.agg) {
      case 'count':
      case 'sum':
      case 'mean':
      case 'variance':
      case 'stddev':
      case 'histogram':
      case 'sumProduct':
        return this.rowMetric(m, path);
      case 'weightedSum':
        return weightedSum(b, m, path);
      case 'difference':
        return difference(b, metric, m, path);
      case 'ratio':
        return ratio(b, metric, m, path);
      case 'dot':
        return dot(b, metric, m, path);
      case 'correlation':
        return correlation(b, metric, m, path);
      default:
        throw new CompileError(`${path}/agg`, 'unknown-agg', `unknown agg ${JSON.stringify((m as { agg: unknown }).agg)}`);
    }
  }

  /**
   * Sequential composition: every release of a noisy value is charged, once per decoding (a metric that is
   * both released and a blinded ratio operand, or an operand of two ratios, is released, noised and charged twice).
   */
  private charged(m: Metric, out: CMetric): CMetric {
    const noise = this.b.scope.s.release?.noise;
    const charge = noise && this.b.scope.noised.has(m.name) && m.agg !== 'ratio' ? noise.epsilon : 0;
    if (!(charge > 0)) return out;
    const inner = out.decode;
    const charged = new Set<string>();
    return {
      ...out,
      decode: (blind?: string) => {
        const key = blind ?? '';
        if (!charged.has(key)) {
          charged.add(key);
          this.b.epsilon += charge;
        }
        return inner(blind);
      },
    };
  }

  /** The layout of a metric over rows: stacked roles (a list, or one role) are BLOCKED, several aligned roles ALIGNED. */
  private rowMetric(doc: RowMetric, path: string): CMetric {
    const { b } = this;
    const sc = b.scope;
    let m = doc;
    if (doc.where) {
      try {
        m = { ...doc, where: bindWhereParams(doc.where, sc.params) };
      } catch (e) {
        throw new CompileError(`${path}/where`, 'param-missing', (e as Error).message);
      }
    }
    const grouping = sc.grouping(m.by, path);
    const eps = sc.noiseEpsilon(m, path);
    const minGroup = sc.s.release?.minGroupSize ?? 0;
    const listRoles = this.listRoles(m, path);
    if (listRoles) return totalsMetric(b, m, listRoles, grouping, eps, minGroup, path);

    const ofRefs: string[] = m.agg === 'count' ? [] : Array.isArray(m.of) ? m.of : [m.of];
    const roles = new Set<string>();
    if (m.agg === 'count') roles.add(Array.isArray(m.role) ? m.role[0] : m.role);
    const ofIsList = m.agg !== 'count' && Array.isArray(m.of);
    for (const [i, r] of ofRefs.entries()) roles.add(sc.column(r, `${path}/of${ofIsList ? `/${i}` : ''}`).role);
    if (m.where) for (const r of whereRoles(m.where)) roles.add(r);
    for (const g of grouping.refs) roles.add(g.role);
    if (roles.size === 1) {
      const [role] = roles;
      const of = ofRefs[0] !== undefined && m.agg !== 'sumProduct' ? { of: ofRefs[0] } : {};
      return totalsMetric(b, m, [{ role, ...of }], grouping, eps, minGroup, path);
    }
    return alignedMetric(b, m, [...roles], ofRefs, grouping, eps, minGroup, path);
  }

  /** The roles of a metric over a list (stacked rows of several roles: a count's roles, or an of-list); null for one row domain. */
  private listRoles(m: RowMetric, path: string): { role: string; of?: string }[] | null {
    const sc = this.b.scope;
    if (m.agg === 'count') {
      const roles = Array.isArray(m.role) ? m.role : [m.role];
      for (const r of roles) if (!sc.s.inputs[r]) throw new CompileError(`${path}/role`, 'unknown-role', `unknown role ${r}`);
      return roles.length > 1 ? roles.map((role) => ({ role })) : null;
    }
    if (m.agg === 'sumProduct' || !Array.isArray(m.of) || m.of.length <= 1) return null;
    const list = m.of.map((ref, i) => ({ role: sc.column(ref, `${path}/of/${i}`).role, of: ref }));
    if (new Set(list.map((x) => x.role)).size !== list.length) {
      throw new CompileError(`${path}/of`, 'list-same-role', 'the refs of a list must be in different roles');
    }
    return list;
  }
}
