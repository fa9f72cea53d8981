/**
 * BLOCKED metrics in the TOTALS feature layout (compiler/README.md, "Layouts"): rows of one role, or of a list
 * of roles stacked, with no per-row product across roles. Each provider sums its features per group in
 * plaintext and puts group g's total at leader slot g·W of one ciphertext; the broker adds the roles' totals and
 * masks. Each party computes what its own data allows, the cryptographic protocol runs only where the parties'
 * data meets (Fang et al., "SecretFlow-SCQL: A Secure Collaborative Query Platform", VLDB 2024).
 */
import type { FeatureSpec, FeatureValue, LocalGrouping, MetricDecoding } from './plan-types.js';
import { blockWidth } from './layout.js';
import { unitRowBound } from '../privacy-unit.js';
import { renameRole, splitRef, whereRefs, whereRoles } from './where.js';
import { VALUE_CAP, laplaceTail, pow2floor } from './magnitude.js';
import { type CMetric, type GVal, type RowSums, meanQuotient, memoDecode, momentsQuotient, release, valueDecoding } from './gval.js';
import type { PlanBuilder } from './builder.js';
import { CompileError, type Grouping, type RowMetric } from './scope.js';

/** One role of a stacked metric: its value ref (none for a count), its where (renamed to it) and its group columns. */
interface RolePart {
  role: string;
  of?: string;
  where: RowMetric['where'];
  grouping: LocalGrouping;
}

interface SumOptions {
  /** a row's |value| in real units (also its L1 sensitivity) */
  maxRow: number;
  /** the provider divides each group's total by its contributing rows (a single-role mean) */
  perGroupMean?: boolean;
  round: boolean;
  eps: number | null;
  /** the conditions guarding the value (default: the metric's minGroupSize) */
  conditions?: string[];
}

type ValueOf = (p: RolePart, gain: number) => FeatureValue;

const one: ValueOf = (_p, gain) => ({ kind: 'one', scale: gain });
const pow =
  (k: number): ValueOf =>
  (p, gain) => {
    if (!p.of) throw new Error('internal: value ref missing');
    return { kind: 'columns', factors: [{ column: splitRef(p.of).column, power: k }], scale: gain };
  };

/**
 * Rows of one or several roles stacked (no per-row products across roles): each role sends its group
 * totals (TOTALS feature layout, summed by the provider) and the broker adds the per-role totals on ciphertexts.
 */
export function totalsMetric(
  b: PlanBuilder,
  m: RowMetric,
  list: { role: string; of?: string }[],
  grouping: Grouping,
  eps: number | null,
  minGroup: number,
  path: string,
): CMetric {
  return new TotalsMetric(b, m, list, grouping, eps, minGroup, path).compile();
}

class TotalsMetric {
  private readonly G: number;
  private readonly keys: string[] | null;
  private readonly W: number;
  private readonly leaders: number[];
  private readonly perRole: RolePart[];
  /** the largest bound of the value columns (1 for a count) */
  private readonly B: number;
  private readonly totalRows: number;
  private readonly minConds: string[];
  private emptyId: string | undefined;

  constructor(
    private readonly b: PlanBuilder,
    private readonly m: RowMetric,
    private readonly list: { role: string; of?: string }[],
    private readonly grouping: Grouping,
    private readonly eps: number | null,
    minGroup: number,
    private readonly path: string,
  ) {
    ({ G: this.G, keys: this.keys } = grouping);
    this.W = blockWidth(b.scope.slots, this.G);
    this.leaders = Array.from({ length: this.G }, (_, g) => g * this.W);
    this.perRole = this.roleParts();
    const bound = (ref: string | undefined): number => (ref ? b.scope.numeric(ref, `${path}/of`).bound : 1);
    this.B = Math.max(...this.perRole.map((p) => bound(p.of)));
    this.totalRows = this.perRole.reduce((n, p) => n + b.scope.rows(p.role), 0);
    // Under noise a minGroupSize of 1 suppresses nothing that noise does not already hide: the groups are the
    // declared category lists (public partitions, no selection needed), and cutting empty groups exactly would
    // tell 0 rows from 1 (δ = 1). Every group is released noisily instead; minGroupSize >= 2 is a noisy selection.
    const suppress = minGroup > 1 || (minGroup === 1 && !b.scope.s.release?.noise);
    this.minConds = suppress ? [this.countCond('minGroupSize', minGroup)] : [];
  }

  /** Each role's where and group columns: a list metric is written with one role's refs, renamed to each role by column name. */
  private roleParts(): RolePart[] {
    const { b, m, list, grouping, path } = this;
    const fromRoles = new Set([...grouping.refs.map((r) => r.role), ...(m.where ? whereRoles(m.where) : [])]);
    return list.map(({ role, of }) => {
      let where = m.where;
      if (where)
        for (const from of fromRoles)
          if (from !== role) {
            if (!list.some((x) => x.role === from))
              throw new CompileError(`${path}/where`, 'where-role', `where names role ${from}, which is not in the metric`);
            where = renameRole(where, from, role);
          }
      const cols = grouping.refs.map((r, i) => {
        const spec = b.scope.s.inputs[role].columns[r.column];
        if (!spec || spec.type !== 'category' || JSON.stringify(spec.values) !== JSON.stringify(r.values)) {
          throw new CompileError(
            `${path}/by${grouping.refs.length > 1 ? `/${i}` : ''}`,
            'by-mismatch',
            `role ${role} needs a category column ${r.column} with the same values`,
          );
        }
        return { column: r.column, values: r.values };
      });
      if (where) for (const ref of whereRefs(where)) b.scope.column(ref, `${path}/where`);
      return { role, of, where, grouping: { columns: cols } as LocalGrouping };
    });
  }

  /** A condition on the groups' contributing rows, summed over the roles (the broker enforces it from the reported counts). */
  private countCond(kind: 'minGroupSize' | 'empty', min: number): string {
    const { b } = this;
    const parts = this.perRole.map((p) => ({
      role: p.role,
      count: b.count(p.role, p.where, p.grouping),
      groupMap: this.leaders.map((_, g) => g),
    }));
    const id = `c${b.conditions.length}`;
    b.conditions.push({ id, minGroupSize: min, groups: this.G, parts, combine: 'sum', kind });
    return id;
  }

  private readonly empty = (): string => (this.emptyId ??= this.countCond('empty', 1));

  /**
   * A grouped sum of per-row values |v| <= maxRow (real units; also a row's L1 sensitivity) over the
   * roles' rows, at gain g = the largest power of two with (worst + Laplace tail)·g <= VALUE_CAP.
   * Worst |slot|: the total of every row (each provider sends its group totals, TOTALS layout, and the
   * broker adds the roles' totals). A single-role mean (its group total ÷ n_g, by the provider) is <= maxRow per group.
   */
  private sum(value: ValueOf, opts: SumOptions): GVal {
    const { b, G, perRole } = this;
    const worst = opts.perGroupMean ? opts.maxRow : this.totalRows * opts.maxRow;
    // L1 sensitivity of the metric's group values to one privacy unit: maxRow per row it contributes, and
    // it contributes up to unitRowBound rows to each role (1 without a privacy unit: the row is the unit;
    // maxRowsPerGroup·min(maxGroups, cells) with one, Wilson et al. 2020, privacy-unit.ts), in every role of
    // the metric (the same unit may hold rows in several). Each group's Laplace noise has scale sens/ε.
    const unitRows = b.scope.s.release?.privacyUnit ? perRole.reduce((n, p) => n + unitRowBound(b.scope.s, p.role), 0) : 1;
    const sens = opts.maxRow * unitRows;
    const tail = laplaceTail(sens, opts.eps);
    const l1Unit = opts.perGroupMean ? G * opts.maxRow : this.totalRows * opts.maxRow;
    // A correlation squares its operands after masking. Shrinking a large unclean value in that mask
    // is costly: the mask's encoding error (~2.4e-11 per slot, relative to the slot it multiplies)
    // leaves every partial sum's share in the masked-off slots, and the full-slot sum adds them up,
    // which n·Σa² − (Σa)² amplifies. So a squared operand gets a gain whose squares already fit.
    const cap = b.scope.squared.has(this.m.name)
      ? Math.min(VALUE_CAP / (worst + tail), Math.sqrt(VALUE_CAP / (worst * l1Unit)))
      : VALUE_CAP / (worst + tail);
    const gain = pow2floor(cap);
    const sums = perRole.map((p) => {
      const f: Omit<FeatureSpec, 'id'> = {
        layout: 'totals',
        value: value(p, gain),
        grouping: p.grouping,
        width: this.W,
        ...(p.where ? { where: p.where } : {}),
        ...(opts.perGroupMean ? { perGroupMean: true } : {}),
      };
      const fid = b.feature(p.role, f);
      // the provider sends group totals (TOTALS layout): group g's total already sits at its leader g·W
      return b.node({ op: 'reduce', a: b.node({ op: 'input', role: p.role, feature: fid }) });
    });
    return {
      node: b.add(sums),
      groups: this.keys,
      leaders: this.leaders,
      clean: false,
      factor: 1 / gain,
      round: opts.round,
      conditions: opts.conditions ?? this.minConds,
      bound: worst * gain,
      l1: l1Unit * gain,
      sens,
    };
  }

  private countVal(e: number | null): GVal {
    return this.sum(one, { maxRow: 1, round: true, eps: e });
  }

  /** Σx^power over the stacked rows and their count, for a mean or a variance over several roles or under noise (gval.ts). */
  private readonly rowSums: RowSums = {
    sum: (power, e) => this.sum(pow(power), { maxRow: power === 1 ? this.B : this.B * this.B, round: false, eps: e }),
    count: (e) => this.countVal(e),
  };

  private out(read: (blind?: string) => MetricDecoding, gval?: GVal, withEmpty = false): CMetric {
    return {
      groups: this.keys,
      ...(gval ? { gval } : {}),
      decode: memoDecode(read),
      ...(withEmpty ? { empty: this.empty } : {}),
    };
  }

  compile(): CMetric {
    const { b, m, eps, B } = this;
    switch (m.agg) {
      case 'count': {
        const v = this.countVal(eps);
        return this.out(valueDecoding(b, v, eps, true), v);
      }
      case 'sum': {
        const v = this.sum(pow(1), { maxRow: B, round: false, eps });
        return this.out(valueDecoding(b, v, eps, false), v, true);
      }
      case 'sumProduct':
        return this.sumProduct(m.of);
      case 'histogram':
        return this.histogram(m.bins);
      case 'mean':
        return this.mean();
      case 'variance':
      case 'stddev':
        return this.moments(m.agg === 'stddev');
    }
  }

  /** One role's Σ a·b: the provider multiplies the two columns, at the gain for B_a·B_b per row. */
  private sumProduct(of: [string, string]): CMetric {
    const { b, eps, path } = this;
    const [x, y] = of.map((r, i) => b.scope.numeric(r, `${path}/of/${i}`));
    const v = this.sum(
      (_p, gain) => ({
        kind: 'columns',
        factors: [
          { column: x.column, power: 1 },
          { column: y.column, power: 1 },
        ],
        scale: gain,
      }),
      { maxRow: x.bound * y.bound, round: false, eps },
    );
    return this.out(valueDecoding(b, v, eps, false), v, true);
  }

  /** One count per bin [e_b, e_b+1) (the last closed). */
  private histogram(edges: number[]): CMetric {
    const { b, eps, path } = this;
    if (edges.length < 2 || edges.some((e, i) => i > 0 && e <= edges[i - 1]))
      throw new CompileError(`${path}/bins`, 'bins', 'bins must be at least two ascending edges');
    const col = splitRef(this.list[0].of ?? '').column;
    const bins = edges.slice(0, -1).map((lo, i) =>
      this.sum(
        (p, gain) => ({
          kind: 'bin',
          column: p.of ? splitRef(p.of).column : col,
          lo,
          hi: edges[i + 1],
          closed: i === edges.length - 2,
          scale: gain,
        }),
        { maxRow: 1, round: true, eps },
      ),
    );
    return this.out(() => ({ kind: 'histogram', bins: bins.map((v) => release(b, v, eps)) }));
  }

  private mean(): CMetric {
    const { b, m, eps, B } = this;
    if (this.list.length === 1 && eps === null) {
      // the provider knows its group sizes: group total ÷ n_g (by the provider) is the mean itself
      const empty = this.countCond('empty', 1);
      const v = this.sum(pow(1), { maxRow: B, perGroupMean: true, round: false, eps: null, conditions: [...this.minConds, empty] });
      return this.out(valueDecoding(b, v, null, false), v);
    }
    return this.out(meanQuotient(b, this.rowSums, eps, m.name));
  }

  /** variance / stddev: E[x] and E[x²] per group (the provider's per-group means for one role, else two sums and a count). */
  private moments(sqrt: boolean): CMetric {
    const { b, m, eps, B } = this;
    if (this.list.length === 1 && eps === null) {
      const empty = this.countCond('empty', 1);
      const perGroup = (k: number, maxRow: number): GVal =>
        this.sum(pow(k), { maxRow, perGroupMean: true, round: false, eps: null, conditions: [...this.minConds, empty] });
      const m1 = perGroup(1, B);
      const m2 = perGroup(2, B * B);
      return this.out(() => ({ kind: 'moments', m1: release(b, m1, null), m2: release(b, m2, null), factor2: 1, sqrt }));
    }
    return this.out(momentsQuotient(b, this.rowSums, eps, m.name, sqrt));
  }
}
