/**
 * ALIGNED metrics (compiler/README.md, "Layouts"): one row domain spanning several aligned roles (a where, by
 * or of naming several roles), joined on `align.on`: slot i is aligned key i. Each provider encodes its per-row
 * factor (its where part × its group indicator × its value, at its share of the gain), the broker multiplies
 * the roles' factors on ciphertexts (a balanced tree), sums the chunks and the slots, and masks each group's
 * total into its leader slot. Also the joint counts of contributing rows (README, "Aligned joint groups").
 */
import type { WhereExpr } from '../types.js';
import type { Condition, FeatureSpec, FeatureValue, LocalGrouping, MetricDecoding, Read } from './plan-types.js';
import { blockWidth, groupComponents } from './layout.js';
import { splitByRole } from './where.js';
import { laplaceTail, splitGain, valueGain } from './magnitude.js';
import { type CMetric, type GVal, type RowSums, meanQuotient, memoDecode, momentsQuotient, release, valueDecoding } from './gval.js';
import type { PlanBuilder } from './builder.js';
import { CompileError, type Grouping, type RowMetric } from './scope.js';

interface ProductOptions {
  /** a role's |factor| per row, in real units */
  maxRowOf: (role: string) => number;
  round: boolean;
  eps: number | null;
  /** a product over these roles only (a term of a joint count) */
  over?: string[];
  /** a smaller total gain to use */
  gain?: number;
}

type FactorOf = (role: string, gain: number) => FeatureValue;

const one = (gain: number): FeatureValue => ({ kind: 'one', scale: gain });
const ones = (): number => 1;

/**
 * One row domain spanning aligned roles (where/by/of naming several roles): ALIGNED layout, each
 * provider emits its per-row factor, the broker multiplies them on ciphertexts, then sums.
 */
export function alignedMetric(
  b: PlanBuilder,
  m: RowMetric,
  roles: string[],
  ofRefs: string[],
  grouping: Grouping,
  eps: number | null,
  minGroup: number,
  path: string,
): CMetric {
  for (const r of roles) {
    if (!b.scope.isAligned(r))
      throw new CompileError(
        path,
        'needs-align',
        `the metric combines rows of roles ${roles.join(', ')}: role ${r} must be listed in align.on`,
      );
  }
  const whereParts = m.where ? splitByRole(m.where) : new Map<string, WhereExpr>();
  if (!whereParts)
    throw new CompileError(
      `${path}/where`,
      'cross-role-where',
      'an or/not across aligned roles is not supported; write the where as an and of per-role terms',
    );
  return new AlignedMetric(b, m, roles, ofRefs, grouping, whereParts, path).compile(eps, minGroup);
}

class AlignedMetric {
  private readonly G: number;
  private readonly keys: string[] | null;
  private readonly leaders: number[];
  private readonly global: LocalGrouping;
  /** per role: its own `by` columns, and their positions in the metric's */
  private readonly local = new Map<string, { grouping: LocalGrouping; positions: number[] }>();
  /** the aligned rows the product sums (at most) */
  private readonly K: number;
  private readonly ofInfo: { role: string; column: string; bound: number }[];
  /** the roles of each term of the joint count (one term, every role, but for a sumProduct over two roles) */
  private readonly termRoles: string[][];
  private minConds: string[] = [];
  private joint: Read | undefined;
  private emptyId: string | undefined;

  constructor(
    private readonly b: PlanBuilder,
    private readonly m: RowMetric,
    private readonly roles: string[],
    ofRefs: string[],
    grouping: Grouping,
    private readonly whereParts: Map<string, WhereExpr>,
    path: string,
  ) {
    ({ G: this.G, keys: this.keys } = grouping);
    const W = blockWidth(b.scope.slots, this.G);
    this.leaders = Array.from({ length: this.G }, (_, g) => g * W);
    this.global = { columns: grouping.refs.map((r) => ({ column: r.column, values: r.values })) };
    for (const r of roles) {
      const positions = grouping.refs.flatMap((x, i) => (x.role === r ? [i] : []));
      this.local.set(r, { grouping: { columns: positions.map((i) => this.global.columns[i]) }, positions });
    }
    this.K = b.scope.alignedCount(roles);
    this.ofInfo = ofRefs.map((r, i) => b.scope.numeric(r, `${path}/of/${i}`));
    /*
     * The joint count of contributing rows of a group (the plaintext reference's, docs/scenario-format.md):
     * the aligned keys whose row of every role is present and passes the role's where part and group
     * part, i.e. a sum over keys of the product of the roles' indicators. A sumProduct over two roles
     * counts the rows present of each of them instead (reference: "both roles counted"): one product per
     * of-role, over it and the roles the where/by name.
     */
    const ofRoles = [...new Set(this.ofInfo.map((x) => x.role))];
    const named = roles.filter((r) => whereParts.has(r) || (this.local.get(r)?.positions.length ?? 0) > 0);
    this.termRoles =
      m.agg === 'sumProduct' && ofRoles.length > 1 ? ofRoles.map((r) => roles.filter((q) => q === r || named.includes(q))) : [roles];
  }

  /** For each of the metric's groups, the index of its component in role r's own grouping. */
  private groupMapOf(r: string): number[] {
    const l = this.local.get(r);
    if (!l) throw new Error('internal');
    return this.leaders.map((_, g) => {
      const comp = groupComponents(this.global, g);
      return l.positions.reduce(
        (idx, pos, j) => idx * l.grouping.columns[j].values.length + l.grouping.columns[j].values.indexOf(comp[pos]),
        0,
      );
    });
  }

  /** A condition on the joint count, which the broker bounds by the min of the roles' local counts. */
  private countCondition(kind: 'minGroupSize' | 'empty', min: number): Condition {
    const { b, roles, termRoles } = this;
    const parts = roles.map((r) => ({
      role: r,
      count: b.count(r, this.whereParts.get(r), this.local.get(r)?.grouping ?? { columns: [] }),
      groupMap: this.groupMapOf(r),
    }));
    const c: Condition = {
      id: `c${b.conditions.length}`,
      minGroupSize: min,
      groups: this.G,
      parts,
      combine: 'min',
      ...(termRoles.length > 1 ? { terms: termRoles.map((t) => t.map((r) => roles.indexOf(r))) } : {}),
      kind,
    };
    b.conditions.push(c);
    return c;
  }

  /**
   * Per role, its factor of the row value (|factor| <= maxRowOf(role), real units) at a power-of-two
   * gain; the gains multiply to the largest power of two with K·Π maxRow·gain (+ Laplace tail) <=
   * VALUE_CAP (K aligned rows: the total sits in every slot after the full rotate-and-sum), split so
   * every factor has about the same magnitude (splitGain). Partial products of the tree stay below
   * the full product's bound when each factor's magnitude is >= 1, and below 1 otherwise.
   */
  private product(value: FactorOf, opts: ProductOptions): GVal {
    const { b } = this;
    const over = opts.over ?? this.roles;
    const maxRows = over.map(opts.maxRowOf);
    const prodMax = maxRows.reduce((x, y) => x * y, 1);
    const worst = (opts.over ? b.scope.alignedCount(over) : this.K) * prodMax;
    const total = Math.min(opts.gain ?? Infinity, valueGain(worst, laplaceTail(prodMax, opts.eps)));
    const gains = splitGain(total, maxRows);
    // the product of the roles' factors per group, summed over every slot (the total then sits in every slot)
    const totals = this.leaders.map((_, g) => {
      const factors = over.map((r, ri) => this.factor(r, g, value(r, gains[ri])));
      return b.node({ op: 'sumSlots', a: b.node({ op: 'reduce', a: b.product(factors) }), width: b.scope.slots });
    });
    // one mask per group keeps only its leader slot, with suppression
    const masked = totals.map((sum, g) =>
      b.node({ op: 'mask', a: sum, entries: [{ group: g, slot: this.leaders[g], scale: 1 }], conditions: this.minConds }),
    );
    return {
      node: b.add(masked),
      groups: this.keys,
      leaders: this.leaders,
      clean: true,
      factor: 1 / total,
      round: opts.round,
      conditions: this.minConds,
      bound: worst * total,
      l1: worst * total,
      sens: prodMax,
    };
  }

  /** Role r's factor for group g: its value, its where part and its group indicator, as an aligned feature. */
  private factor(r: string, g: number, value: FeatureValue): string {
    const { b } = this;
    const comp = groupComponents(this.global, g);
    const l = this.local.get(r) ?? { grouping: { columns: [] }, positions: [] };
    const where = this.whereParts.get(r);
    const f: Omit<FeatureSpec, 'id'> = {
      layout: 'aligned',
      value,
      grouping: { columns: [] },
      width: b.scope.slots,
      ...(where ? { where } : {}),
      ...(l.positions.length ? { groupIs: l.positions.map((pos, j) => ({ column: l.grouping.columns[j].column, value: comp[pos] })) } : {}),
    };
    return b.node({ op: 'input', role: r, feature: b.feature(r, f) });
  }

  /** The of-columns of role r, each raised to `power` (1 for a role without one). */
  private readonly valueOf =
    (power: number): FactorOf =>
    (role, gain) => {
      const mine = this.ofInfo.filter((x) => x.role === role);
      if (!mine.length) return one(gain);
      return { kind: 'columns', factors: mine.map((x) => ({ column: x.column, power })), scale: gain };
    };

  private readonly maxRowOf =
    (power: number) =>
    (role: string): number =>
      this.ofInfo.filter((x) => x.role === role).reduce((p, x) => p * x.bound ** power, 1);

  private countVal(e: number | null): GVal {
    return this.product((_r, gain) => one(gain), { maxRowOf: ones, round: true, eps: e });
  }

  /**
   * The joint counts as an output, masked like the metric (the same output as a count's or a mean's denominator).
   * Under noise: a count release (sensitivity: one row changes each term's count by at most 1), its gains sized
   * for the Laplace tail like a noisy count metric's; a count metric's own release is the same output.
   */
  private jointRead(): Read {
    if (this.joint) return this.joint;
    const { b, termRoles } = this;
    const noise = b.scope.s.release?.noise;
    const ne = noise ? noise.epsilon : null;
    let v: GVal;
    if (termRoles.length === 1) v = this.countVal(ne);
    else {
      // one gain for every term, so their sum (and its noise tail) fits VALUE_CAP
      const T = termRoles.length;
      const worst = T * Math.max(...termRoles.map((t) => b.scope.alignedCount(t)));
      const gain = valueGain(worst, laplaceTail(T, ne));
      const vs = termRoles.map((t) => this.product((_r, g) => one(g), { maxRowOf: ones, round: true, eps: null, over: t, gain }));
      if (vs.some((x) => x.factor !== vs[0].factor)) throw new Error('internal: joint count terms at different gains');
      v = {
        ...vs[0],
        node: b.add(vs.map((x) => x.node)),
        bound: vs.reduce((a, x) => a + x.bound, 0),
        l1: vs.reduce((a, x) => a + x.l1, 0),
        sens: vs.length,
      };
    }
    const before = b.outputs.length;
    this.joint = release(b, v, ne);
    // charged when it is a release of its own (not the count metric's output, charged with the metric)
    if (ne !== null && b.outputs.length > before) b.epsilon += ne;
    return this.joint;
  }

  private readonly empty = (): string => {
    if (this.emptyId) return this.emptyId;
    const c = this.countCondition('empty', 1);
    this.emptyId = c.id;
    c.jointCount = this.jointRead();
    return this.emptyId;
  };

  private out(read: (blind?: string) => MetricDecoding, gval?: GVal): CMetric {
    return { groups: this.keys, ...(gval ? { gval } : {}), decode: memoDecode(read) };
  }

  compile(eps: number | null, minGroup: number): CMetric {
    const { b, m } = this;
    // The broker can only bound the joint count from above (min of the local counts: an early cut);
    // the consumer's decoding applies the rule from the encrypted joint count (jointCount). Without noise
    // that count is exact (the broker refuses such a job when minGroupSize > 1: ALIGNED_NOISE_REQUIRED, so
    // only empty groups are cut this way); under Laplace noise it is a noisy count, charged like a count
    // metric, and the consumer nulls the groups whose noisy joint count is under minGroupSize
    // (post-processing: compiler README, "Aligned joint groups").
    if (minGroup > 0) {
      const c = this.countCondition('minGroupSize', minGroup);
      this.minConds = [c.id];
      b.conditionHooks.set(c.id, () => {
        c.jointCount = this.jointRead();
      });
    }
    switch (m.agg) {
      case 'count': {
        const v = this.countVal(eps);
        return this.out(valueDecoding(b, v, eps, true), v);
      }
      case 'sum':
      case 'sumProduct': {
        const v = this.product(this.valueOf(1), { maxRowOf: this.maxRowOf(1), round: false, eps });
        return { ...this.out(valueDecoding(b, v, eps, false), v), empty: this.empty };
      }
      case 'histogram':
        return this.histogram(m.bins, eps);
      case 'mean':
        return this.out(meanQuotient(b, this.rowSums, eps, m.name));
      case 'variance':
      case 'stddev':
        return this.out(momentsQuotient(b, this.rowSums, eps, m.name, m.agg === 'stddev'));
    }
  }

  /** One joint count per bin: the of-role's factor is its bin indicator. */
  private histogram(edges: number[], eps: number | null): CMetric {
    const x = this.ofInfo[0];
    const bins = edges
      .slice(0, -1)
      .map((lo, i) =>
        this.product(
          (r, gain) =>
            r === x.role ? { kind: 'bin', column: x.column, lo, hi: edges[i + 1], closed: i === edges.length - 2, scale: gain } : one(gain),
          { maxRowOf: ones, round: true, eps },
        ),
      );
    return this.out(() => ({ kind: 'histogram', bins: bins.map((v) => release(this.b, v, eps)) }));
  }

  /** Σx^power over the joined rows and the joint count, for a mean or a variance (gval.ts). */
  private readonly rowSums: RowSums = {
    sum: (power, e) => this.product(this.valueOf(power), { maxRowOf: this.maxRowOf(power), round: false, eps: e }),
    count: (e) => this.countVal(e),
  };
}
