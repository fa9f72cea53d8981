/**
 * The plan compiler: scenario document + public parameter values + public row counts → a plan
 * (compiler/README.md describes layouts, the circuit and what each party learns).
 */
import { noiseGrid } from './sampler.js';
import { type UnitContribution, selectionCharge, selectionFor } from './selection.js';
import { decodingReads } from './reads.js';
import type {
  CategoryColumn,
  ColumnSpec,
  CombineMetric,
  Metric,
  NumberColumn,
  ParamValues,
  Ref,
  Scenario,
  WeightedSumMetric,
  WhereExpr,
} from '../types.js';
import type {
  CircuitNode,
  CircuitOp,
  CompileContext,
  CompileResult,
  Condition,
  CountSpec,
  Decoding,
  FeatureSpec,
  FeatureValue,
  LocalGrouping,
  MetricDecoding,
  NodeId,
  OutputSpec,
  Plan,
  PlanError,
  PlanHeParams,
  PrivateInput,
  ProviderWork,
  Read,
} from './plan-types.js';
import { blockWidth, groupComponents, groupKeys, stepsForWidth } from './layout.js';
import { unitBounding, unitRowBound } from '../privacy-unit.js';
import { bindWhereParams, renameRole, splitByRole, splitRef, whereRoles } from './where.js';
import { HeError, ckksParamsForDepth } from '#he-core';
import { BLIND_BITS, LAPLACE_TAIL, PRIVATE_PARAM_BOUND, SLOT_CAP, VALUE_CAP, pow2floor, splitGain } from './magnitude.js';

/** Row count assumed for a role when the context gives none (sizes the scaling before products). */
export const DEFAULT_ROW_BOUND = 1 << 20;

/**
 * CKKS parameters for a multiplicative depth: `#he-core`'s presets (`ckksParamsForDepth`; its JSDoc
 * explains the prime sizes: a 2-prime base level for headroom, small rescale primes so key-switching
 * noise stays below encryption noise), or null when no preset at 128-bit security is deep enough.
 */
export function planParamsForDepth(depth: number): PlanHeParams | null {
  try {
    return ckksParamsForDepth(Math.max(1, depth)) as PlanHeParams;
  } catch (e) {
    if (e instanceof HeError && e.code === 'DEPTH_EXCEEDED') return null;
    throw e;
  }
}

class CompileError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A grouped value on a ciphertext: group g's value at slot leaders[g], times `factor`. */
interface GVal {
  node: NodeId;
  groups: string[] | null;
  leaders: number[];
  /** zeros outside the leader slots, with its conditions already applied */
  clean: boolean;
  /** real value = slot value × factor (1 / the gain) */
  factor: number;
  round: boolean;
  conditions: string[];
  /** upper bound of |slot value| anywhere in the ciphertext (leaders, and partial sums of aligned metrics), <= SLOT_CAP */
  bound: number;
  /** upper bound of the sum over groups of |slot value at the leader| */
  l1: number;
  /** L1 sensitivity of one group's real value to one row (for Laplace noise) */
  sens: number;
  /** a total over groups (dot): a condition suppressing any group withholds the whole value */
  anyGroup?: boolean;
}

interface CMetric {
  groups: string[] | null;
  gval?: GVal;
  /** `blind`: the id of the quotient whose operands this decoding's reads are blinded for (see `release`) */
  decode: (blind?: string) => MetricDecoding;
  /**
   * A condition (kind `empty`) whose groups have no contributing rows, for a ratio's denominator
   * whose empty groups would otherwise decode as CKKS noise instead of 0 (sum, sumProduct); created
   * on first use.
   */
  empty?: () => string;
}

const isParam = (v: unknown): v is string => typeof v === 'string' && v.startsWith('$params.');
const paramName = (v: string): string => v.slice('$params.'.length);

/**
 * The CKKS scale of a ciphertext, symbolically (compiler/README.md, "Levels and scales"): `#he-core`
 * encrypts at s = 2^scaleBits, multiplyPlain keeps the scale exactly, and a ct × ct product at level L
 * has scale s_a·s_b/q_L, where q_L (the prime its rescale drops) is close to but not 2^40. So a scale is
 * s^k / Π q_L over the levels of the products that formed it: written "k/L1,L2,…" (levels sorted).
 */
type Scale = string;
const FRESH_SCALE: Scale = '1/';

function productScale(a: Scale, b: Scale, level: number): Scale {
  const parse = (x: Scale): [number, number[]] => {
    const [k, ls] = x.split('/');
    return [Number(k), ls ? ls.split(',').map(Number) : []];
  };
  const [ka, la] = parse(a);
  const [kb, lb] = parse(b);
  return `${ka + kb}/${[...la, ...lb, level].sort((x, y) => x - y).join(',')}`;
}

/**
 * Level and scale of a + b as `#he-core`'s HeEngine aligns them: equal scales are mod-switched to the
 * deeper level (free); unequal scales at different levels rescale the shallower operand onto the
 * deeper one's scale (free); unequal scales at the same level cost one more level (b's scale).
 */
function alignedLevel(a: { level: number; scale: Scale }, b: { level: number; scale: Scale }): { level: number; scale: Scale } {
  const L = Math.max(a.level, b.level);
  if (a.scale === b.scale) return { level: L, scale: a.scale };
  if (a.level !== b.level) return { level: L, scale: (a.level > b.level ? a : b).scale };
  return { level: L + 1, scale: b.scale };
}

/**
 * Every output reaches the consumer as x + conj(x) + fill (circuit.ts, release hygiene): twice the value
 * the circuit computed, so every read's factor is halved. Reads shared between decodings are halved once.
 */
function halveReads(decodings: Record<string, MetricDecoding>, conditions: Condition[]): void {
  const seen = new Set<Read>();
  const half = (r: Read): void => {
    if (!seen.has(r)) {
      seen.add(r);
      r.factor /= 2;
    }
  };
  for (const d of new Set(Object.values(decodings))) {
    for (const { read } of decodingReads(d)) half(read);
    if (d.kind === 'rows') d.factor /= 2;
  }
  for (const c of conditions) if (c.jointCount) half(c.jointCount);
}

/** A decoding per blinding id (or none), each built once: the same operand blinded for two quotients is two outputs. */
function memoDecode(read: (blind?: string) => MetricDecoding): (blind?: string) => MetricDecoding {
  const memo = new Map<string, MetricDecoding>();
  return (blind) => {
    const key = blind ?? '';
    let d = memo.get(key);
    if (!d) memo.set(key, (d = read(blind)));
    return d;
  };
}

class Compiler {
  private readonly roles = new Map<string, ProviderWork>();
  private readonly featureKeys = new Map<string, string>();
  private readonly countKeys = new Map<string, string>();
  private readonly nodes: CircuitNode[] = [];
  private readonly nodeKeys = new Map<string, NodeId>();
  private readonly conditions: Condition[] = [];
  private readonly outputs: OutputSpec[] = [];
  private readonly privateInputs: PrivateInput[] = [];
  private readonly metrics = new Map<string, CMetric>();
  private readonly compiling = new Set<string>();
  private readonly decodings: Record<string, MetricDecoding> = {};
  private readonly decodingGroups: Record<string, string[] | null> = {};
  private readonly released: string[] = [];
  private readonly widths = new Set<number>();
  private epsilon = 0;
  private alignKeys: string[] | null = null;
  /** metrics a correlation squares (see `stackedMetric`'s gain) */
  private readonly squared = new Set<string>();
  /** CKKS scale of every node, as the engine will track it (see `Scale`) */
  private readonly scales = new Map<NodeId, Scale>();
  /** run once when an output first carries the condition: releases its joint count (aligned rows) */
  private readonly conditionHooks = new Map<string, () => void>();
  /**
   * Under `release.noise`: the metrics whose values the consumer reads, each noised and charged: the released
   * ones, and the operands of a noised ratio (a ratio is post-processing of its two noisy operands).
   */
  private readonly noised = new Set<string>();

  constructor(
    private readonly s: Scenario,
    private readonly params: ParamValues,
    private readonly ctx: CompileContext,
    private readonly slots: number,
  ) {}

  run(): Omit<Plan, 'params' | 'depth' | 'format' | 'scenario' | 'slots'> & { depth: number } {
    const s = this.s;
    if (s.align) {
      for (const [role, col] of Object.entries(s.align.on)) {
        const spec = s.inputs[role]?.columns[col];
        if (!spec || spec.type !== 'id')
          throw new CompileError(`/align/on/${role}`, 'align-column', `align.on.${role} must name an id column of role ${role}`);
      }
      if (s.align.keys !== undefined) {
        const v = this.params[paramName(s.align.keys)];
        if (!Array.isArray(v) || !v.every((k) => typeof k === 'string')) {
          throw new CompileError('/align/keys', 'param-missing', `align.keys needs the id-list parameter ${s.align.keys}`);
        }
        if (new Set(v).size !== v.length) throw new CompileError('/align/keys', 'duplicate-keys', 'align.keys lists a key twice');
        this.alignKeys = v as string[];
      }
    }
    for (const m of s.metrics) if (m.agg === 'correlation') for (const o of m.of) this.squared.add(o);
    if (s.release?.noise) {
      const byName = new Map(s.metrics.map((m) => [m.name, m]));
      const todo = s.metrics.filter((m) => m.release !== false).map((m) => m.name);
      while (todo.length) {
        const name = todo.pop() as string;
        if (this.noised.has(name)) continue;
        this.noised.add(name);
        const m = byName.get(name);
        if (m?.agg === 'ratio') todo.push(...m.of.filter((o) => byName.has(o)));
      }
    }
    for (const [i, m] of s.metrics.entries()) {
      const cm = this.metric(m.name, `/metrics/${i}`);
      if (m.release !== false) {
        this.released.push(m.name);
        this.decodings[m.name] = cm.decode();
        this.decodingGroups[m.name] = cm.groups;
      }
    }
    const byId = new Map(this.nodes.map((n) => [n.id, n]));
    // a blinded output must not sit at the bottom level: its values reach 2^BLIND_BITS·SLOT_CAP (release)
    const levelOf = (o: OutputSpec): number => {
      const n = byId.get(o.node);
      if (!n) return 0;
      const m = n.op === 'noise' ? byId.get(n.a) : n;
      return m?.op === 'mask' && m.blind ? m.level + 1 : n.level;
    };
    const depth = Math.max(0, ...this.outputs.map(levelOf));
    const galois = new Set<number>();
    for (const w of this.widths) for (const st of stepsForWidth(w)) galois.add(st);
    // release hygiene conjugates every output (step 0, circuit.ts `releaseOutputs`), doubling its real part
    galois.add(0);
    halveReads(this.decodings, this.conditions);
    // under noise, small-group suppression is a noisy selection, charged like a metric (selection.ts)
    const noise = s.release?.noise;
    if (noise)
      for (const c of this.conditions)
        if (c.kind === 'minGroupSize') c.selection = selectionFor(c, noise.epsilon, undefined, this.unitOf(c));
    const roles: Record<string, ProviderWork> = {};
    for (const [r, w] of this.roles) roles[r] = w;
    const decoding: Decoding = { metrics: this.decodings, groups: this.decodingGroups, released: this.released };
    return {
      depth,
      galoisSteps: [...galois].sort((a, b) => a - b),
      needsRelin: this.nodes.some((n) => n.op === 'mul'),
      align: s.align ? { on: { ...s.align.on }, keys: this.alignKeys } : null,
      roles,
      circuit: { nodes: this.nodes },
      conditions: this.conditions,
      outputs: this.outputs,
      privateInputs: this.privateInputs,
      epsilon: this.epsilon + selectionCharge(this.conditions).epsilon,
      decoding,
    };
  }

  // ---------- scenario lookups ----------

  private metricDoc(name: string, path: string): Metric {
    const m = this.s.metrics.find((x) => x.name === name);
    if (!m) throw new CompileError(path, 'unknown-metric', `no metric named ${JSON.stringify(name)}`);
    return m;
  }

  private column(ref: Ref, path: string): { role: string; column: string; spec: ColumnSpec } {
    let parts: { role: string; column: string };
    try {
      parts = splitRef(ref);
    } catch {
      throw new CompileError(path, 'bad-ref', `${JSON.stringify(ref)} is not a role.column reference`);
    }
    const spec = this.s.inputs[parts.role]?.columns[parts.column];
    if (!spec) throw new CompileError(path, 'unknown-ref', `${ref} names no declared column`);
    return { ...parts, spec };
  }

  private numeric(ref: Ref, path: string): { role: string; column: string; spec: NumberColumn; bound: number } {
    const c = this.column(ref, path);
    if (c.spec.type !== 'number' && c.spec.type !== 'integer') throw new CompileError(path, 'not-numeric', `${ref} is not a number column`);
    const bound = Math.max(Math.abs(c.spec.min), Math.abs(c.spec.max)) || 1;
    return { ...c, spec: c.spec, bound };
  }

  private category(ref: Ref, path: string): { role: string; column: string; spec: CategoryColumn } {
    const c = this.column(ref, path);
    if (c.spec.type !== 'category') throw new CompileError(path, 'not-category', `by ${ref} is not a category column`);
    return { ...c, spec: c.spec };
  }

  private rows(role: string): number {
    const n = this.ctx.rowCounts?.[role];
    return n !== undefined && n > 0 ? n : DEFAULT_ROW_BOUND;
  }

  /** Upper bound on the aligned rows a product over `roles` sums: the key count, and each role's rows. */
  private alignedCount(roles: string[]): number {
    const keys = this.alignKeys?.length ?? this.ctx.alignedKeyCount ?? Infinity;
    return Math.max(1, Math.min(keys, ...roles.map((r) => this.rows(r))));
  }

  private work(role: string): ProviderWork {
    let w = this.roles.get(role);
    if (!w) {
      w = { columns: [], bounds: {}, features: [], counts: [], maxRows: this.rows(role) };
      const on = this.s.align?.on[role];
      if (on !== undefined) {
        w.alignOn = on;
        w.columns.push(on);
      }
      // the provider reads the unit and its partition's columns to bound each unit's rows (privacy-unit.ts)
      const unit = unitBounding(this.s, role);
      if (unit) {
        w.unit = unit;
        for (const c of [unit.column, ...unit.groupBy.map((g) => g.column)]) if (!w.columns.includes(c)) w.columns.push(c);
      }
      this.roles.set(role, w);
    }
    return w;
  }

  private useColumn(role: string, column: string): void {
    const w = this.work(role);
    if (!w.columns.includes(column)) w.columns.push(column);
    const spec = this.s.inputs[role].columns[column];
    if (spec && (spec.type === 'number' || spec.type === 'integer')) w.bounds[column] = { min: spec.min, max: spec.max };
  }

  private useWhere(role: string, where: WhereExpr | undefined): void {
    if (!where) return;
    for (const r of whereRolesRefs(where)) this.useColumn(role, splitRef(r).column);
  }

  private isAligned(role: string): boolean {
    return this.s.align?.on[role] !== undefined;
  }

  // ---------- features, counts, nodes ----------

  private feature(role: string, f: Omit<FeatureSpec, 'id'>): string {
    const w = this.work(role);
    const key = `${role}\u0000${JSON.stringify(f)}`;
    const known = this.featureKeys.get(key);
    if (known) return known;
    const id = `f${w.features.length}`;
    w.features.push({ id, ...f });
    this.featureKeys.set(key, id);
    this.useWhere(role, f.where);
    for (const c of f.grouping.columns) this.useColumn(role, c.column);
    for (const c of f.groupIs ?? []) this.useColumn(role, c.column);
    const v = f.value;
    if (v.kind === 'columns') for (const x of v.factors) this.useColumn(role, x.column);
    if (v.kind === 'bin') this.useColumn(role, v.column);
    if (v.kind === 'linear') for (const x of v.terms) this.useColumn(role, x.column);
    return id;
  }

  private count(role: string, where: WhereExpr | undefined, grouping: LocalGrouping): string {
    const w = this.work(role);
    const spec: Omit<CountSpec, 'id'> = where ? { where, grouping } : { grouping };
    const key = `${role}\u0000${JSON.stringify(spec)}`;
    const known = this.countKeys.get(key);
    if (known) return known;
    const id = `n${w.counts.length}`;
    w.counts.push({ id, ...spec });
    this.countKeys.set(key, id);
    this.useWhere(role, where);
    for (const c of grouping.columns) this.useColumn(role, c.column);
    return id;
  }

  private node(op: CircuitOp): NodeId {
    const key = JSON.stringify(op);
    const known = this.nodeKeys.get(key);
    if (known) return known;
    const get = (id: NodeId): CircuitNode => {
      const n = this.nodes.find((x) => x.id === id);
      if (!n) throw new Error(`internal: unknown node ${id}`);
      return n;
    };
    let level = 0;
    let scale = FRESH_SCALE;
    let chunked = false;
    switch (op.op) {
      case 'input':
        chunked = true;
        break;
      case 'private':
        break;
      case 'reduce':
        level = get(op.a).level;
        scale = this.scaleOf(op.a);
        break;
      case 'add': {
        // the engine folds left, aligning each pair (alignedLevel)
        let acc = { level: get(op.args[0]).level, scale: this.scaleOf(op.args[0]) };
        for (const a of op.args.slice(1)) acc = alignedLevel(acc, { level: get(a).level, scale: this.scaleOf(a) });
        ({ level, scale } = acc);
        chunked = op.args.some((a) => get(a).chunked);
        break;
      }
      case 'sub': {
        ({ level, scale } = alignedLevel(
          { level: get(op.a).level, scale: this.scaleOf(op.a) },
          { level: get(op.b).level, scale: this.scaleOf(op.b) },
        ));
        chunked = get(op.a).chunked || get(op.b).chunked;
        break;
      }
      case 'mul': {
        const L = Math.max(get(op.a).level, get(op.b).level);
        level = L + 1;
        scale = productScale(this.scaleOf(op.a), this.scaleOf(op.b), L);
        chunked = get(op.a).chunked || get(op.b).chunked;
        break;
      }
      case 'mulPlain':
      case 'mask':
        level = get(op.a).level + 1;
        scale = this.scaleOf(op.a);
        chunked = get(op.a).chunked;
        break;
      case 'addPlain':
      case 'noise':
      case 'sumSlots':
        level = get(op.a).level;
        scale = this.scaleOf(op.a);
        chunked = get(op.a).chunked;
        break;
    }
    if (op.op === 'sumSlots') this.widths.add(op.width);
    const id = `v${this.nodes.length}`;
    this.nodes.push({ ...op, id, level, chunked } as CircuitNode);
    this.nodeKeys.set(key, id);
    this.scales.set(id, scale);
    return id;
  }

  private level(id: NodeId): number {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`internal: unknown node ${id}`);
    return n.level;
  }

  private scaleOf(id: NodeId): Scale {
    const sc = this.scales.get(id);
    if (sc === undefined) throw new Error(`internal: unknown node ${id}`);
    return sc;
  }

  /**
   * Brings nodes to one level by multiplying the shallower ones by 1 (mulPlain keeps the scale), for a
   * ct × ct product. For an add/sub (`sum`), an operand whose CKKS scale differs from the deepest
   * operand's is brought only to one level below it: the engine then rescales it onto that scale for
   * free, whereas two operands at the same level with different scales would cost an extra level
   * (HeEngine.align; a difference of a dot of two metrics, scale s²/q, and a dot with a public list,
   * scale s, ran out of levels that way).
   */
  private levelled(ids: NodeId[], sum = false): NodeId[] {
    const top = Math.max(...ids.map((i) => this.level(i)));
    const target = this.scaleOf(ids.find((i) => this.level(i) === top) as NodeId);
    return ids.map((id) => {
      const to = sum && this.scaleOf(id) !== target ? top - 1 : top;
      let cur = id;
      while (this.level(cur) < to) cur = this.node({ op: 'mulPlain', a: cur, plain: { kind: 'const', value: 1 } });
      return cur;
    });
  }

  private add(ids: NodeId[]): NodeId {
    return ids.length === 1 ? ids[0] : this.node({ op: 'add', args: this.levelled(ids, true) });
  }

  private mul(a: NodeId, b: NodeId): NodeId {
    const [x, y] = this.levelled([a, b]);
    return this.node({ op: 'mul', a: x, b: y });
  }

  private product(ids: NodeId[]): NodeId {
    // a balanced tree keeps the depth at ceil(log2(n))
    let layer = ids;
    while (layer.length > 1) {
      const next: NodeId[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(i + 1 < layer.length ? this.mul(layer[i], layer[i + 1]) : layer[i]);
      layer = next;
    }
    return layer[0];
  }

  private maskVal(g: GVal, scale: number, conditions: string[], blind?: string): GVal {
    const entries = g.leaders.map((slot, group) => ({ group, slot, scale }));
    const node = this.node({ op: 'mask', a: g.node, entries, conditions, ...(blind ? { blind } : {}) });
    const grow = blind ? 2 ** BLIND_BITS : 1;
    return {
      ...g,
      node,
      clean: true,
      factor: g.factor / scale,
      bound: g.bound * Math.abs(scale) * grow,
      l1: g.l1 * Math.abs(scale) * grow,
      conditions,
    };
  }

  /**
   * Registers a ciphertext the consumer encrypts; returns its name. Metrics that need the same parameter
   * at another multiplier or layout get their own ciphertext (`metric:name`).
   */
  private privateInput(p: PrivateInput, metric: string): string {
    const body = (q: PrivateInput): string => JSON.stringify({ ...q, name: '' });
    for (const name of [p.name, `${metric}:${p.name}`]) {
      const known = this.privateInputs.find((q) => q.name === name);
      if (!known) {
        this.privateInputs.push({ ...p, name });
        return name;
      }
      if (body(known) === body(p)) return name;
    }
    throw new Error(`internal: metric ${metric} needs private input ${p.name} twice at different scales`);
  }

  private output(node: NodeId, conditions: string[], anyGroup = false): string {
    const known = this.outputs.find((o) => o.node === node);
    if (known) return known.id;
    const id = `o${this.outputs.length}`;
    this.outputs.push({ id, node, conditions, ...(anyGroup ? { anyGroup: true } : {}) });
    // a condition on joint counts of aligned rows needs its count output once something it guards is released
    for (const c of conditions) {
      const hook = this.conditionHooks.get(c);
      if (hook) {
        this.conditionHooks.delete(c);
        hook();
      }
    }
    return id;
  }

  /** Release a grouped value: mask to the leader slots (suppression), then noise; returns the consumer's read. */
  /**
   * Release a grouped value: mask to the leader slots (suppression), then noise; returns the consumer's read.
   * `blind` (the operands of a quotient): the mask also multiplies group g by the quotient's secret factor
   * r_g in [1, 2^BLIND_BITS), and so does the noise; the output then sits one level above the bottom of the
   * modulus chain (the plan's depth accounts for it, see `run`), where the headroom is 2^40 times larger.
   */
  private release(g: GVal, epsilon: number | null, blind?: string): Read {
    // Laplace samples are capped at LAPLACE_TAIL scales (circuit.ts): value + noise must fit SLOT_CAP.
    // Row metrics size their gains for it; a noisy difference may need its mask to scale down.
    const tail = epsilon === null ? 0 : (LAPLACE_TAIL * g.sens) / epsilon / g.factor;
    const fit = Math.min(1, SLOT_CAP / (g.bound + tail));
    const masked = g.clean && fit === 1 && !blind ? g : this.maskVal(g, fit, g.conditions, blind);
    let node = masked.node;
    if (epsilon !== null) {
      const scale = masked.sens / epsilon / masked.factor;
      // a rounded value's noise is a whole number of counts; a real value's lives on a power-of-two grid
      node = this.node({
        op: 'noise',
        a: node,
        slots: masked.leaders,
        scale,
        grid: g.round ? 1 / masked.factor : noiseGrid(scale),
        ...(blind ? { blind } : {}),
      });
    }
    return {
      output: this.output(node, masked.conditions, g.anyGroup === true),
      slots: masked.leaders,
      factor: masked.factor,
      ...(blind ? { blinded: true } : {}),
    };
  }

  // ---------- metrics ----------

  private metric(name: string, path: string): CMetric {
    const known = this.metrics.get(name);
    if (known) return known;
    if (this.compiling.has(name)) throw new CompileError(path, 'metric-cycle', `metric ${name} depends on itself`);
    this.compiling.add(name);
    const m = this.metricDoc(name, path);
    let out: CMetric;
    switch (m.agg) {
      case 'count':
      case 'sum':
      case 'mean':
      case 'variance':
      case 'stddev':
      case 'histogram':
      case 'sumProduct':
        out = this.rowMetric(m, path);
        break;
      case 'weightedSum':
        out = this.weightedSum(m, path);
        break;
      case 'difference':
        out = this.difference(m, path);
        break;
      case 'ratio':
        out = this.ratio(m, path);
        break;
      case 'dot':
        out = this.dot(m, path);
        break;
      case 'correlation':
        out = this.correlation(m, path);
        break;
      default:
        throw new CompileError(`${path}/agg`, 'unknown-agg', `unknown agg ${JSON.stringify((m as { agg: unknown }).agg)}`);
    }
    this.compiling.delete(name);
    const charge = this.s.release?.noise && this.noised.has(name) && m.agg !== 'ratio' ? this.s.release.noise.epsilon : 0;
    if (charge > 0) {
      // sequential composition: every release of a noisy value is charged, once per decoding (a metric that is
      // both released and a blinded ratio operand, or an operand of two ratios, is released, noised and charged twice)
      const inner = out.decode;
      const charged = new Set<string>();
      out = {
        ...out,
        decode: (blind?: string) => {
          const key = blind ?? '';
          if (!charged.has(key)) {
            charged.add(key);
            this.epsilon += charge;
          }
          return inner(blind);
        },
      };
    }
    this.metrics.set(name, out);
    return out;
  }

  /**
   * The Laplace epsilon of one release of metric `m` (null: not noised). The charge is made when the metric's
   * decoding is built (`metric`), once per release. A ratio adds no noise of its own: its operands are noised
   * and charged, and the consumer divides them (post-processing keeps ε-DP, Dwork & Roth 2014, Prop. 2.1).
   */
  /** How one privacy unit moves a stacked condition's counts (selection.ts `UnitContribution`); none without a unit. */
  private unitOf(c: Condition): UnitContribution | undefined {
    const unit = this.s.release?.privacyUnit;
    if (!unit || c.combine !== 'sum') return undefined;
    const roles = [...new Set(c.parts.map((p) => p.role))];
    return {
      l1: roles.reduce((n, r) => n + unitRowBound(this.s, r), 0),
      linf: roles.reduce((n, r) => n + (unitBounding(this.s, r) ? unit.maxRowsPerGroup : 1), 0),
    };
  }

  private noiseEpsilon(m: Metric, path: string): number | null {
    const noise = this.s.release?.noise;
    if (!noise || !this.noised.has(m.name)) return null;
    if (!(noise.epsilon > 0)) throw new CompileError('/release/noise/epsilon', 'bad-epsilon', 'noise epsilon must be > 0');
    if (['weightedSum', 'dot', 'correlation'].includes(m.agg)) {
      throw new CompileError(
        path,
        'noise-unsupported',
        `Laplace noise is not defined for agg ${m.agg} (its sensitivity is unbounded by the column bounds)`,
      );
    }
    if (m.agg === 'ratio') return null;
    return noise.epsilon;
  }

  /** Global grouping of a metric from its `by` refs. */
  private grouping(
    by: Ref | Ref[] | undefined,
    path: string,
  ): { refs: { role: string; column: string; values: string[] }[]; keys: string[] | null; G: number } {
    const refs = by === undefined ? [] : Array.isArray(by) ? by : [by];
    const cols = refs.map((r, i) => {
      const c = this.category(r, `${path}/by${Array.isArray(by) ? `/${i}` : ''}`);
      return { role: c.role, column: c.column, values: c.spec.values };
    });
    const G = cols.reduce((n, c) => n * c.values.length, 1);
    if (G > this.slots) throw new CompileError(`${path}/by`, 'slot-capacity', `${G} groups exceed the ${this.slots} slots of a ciphertext`);
    return { refs: cols, keys: cols.length ? groupKeys({ columns: cols }) : null, G };
  }

  private rowMetric(
    doc: Extract<Metric, { agg: 'count' | 'sum' | 'mean' | 'variance' | 'stddev' | 'histogram' | 'sumProduct' }>,
    path: string,
  ): CMetric {
    let m = doc;
    if (doc.where) {
      try {
        m = { ...doc, where: bindWhereParams(doc.where, this.params) };
      } catch (e) {
        throw new CompileError(`${path}/where`, 'param-missing', (e as Error).message);
      }
    }
    const grouping = this.grouping(m.by, path);
    const eps = this.noiseEpsilon(m, path);
    const minGroup = this.s.release?.minGroupSize ?? 0;
    // the metric's roles: a list (stacked rows of several roles) or one row domain (possibly spanning aligned roles)
    let listRoles: { role: string; of?: string }[] | null = null;
    if (m.agg === 'count') {
      const roles = Array.isArray(m.role) ? m.role : [m.role];
      for (const r of roles) if (!this.s.inputs[r]) throw new CompileError(`${path}/role`, 'unknown-role', `unknown role ${r}`);
      if (roles.length > 1) listRoles = roles.map((role) => ({ role }));
    } else if (m.agg !== 'sumProduct' && Array.isArray(m.of) && m.of.length > 1) {
      listRoles = m.of.map((ref, i) => ({ role: this.column(ref, `${path}/of/${i}`).role, of: ref }));
      if (new Set(listRoles.map((x) => x.role)).size !== listRoles.length) {
        throw new CompileError(`${path}/of`, 'list-same-role', 'the refs of a list must be in different roles');
      }
    }
    if (listRoles) return this.stackedMetric(m, listRoles, grouping, eps, minGroup, path);

    const ofRefs: string[] = m.agg === 'count' ? [] : Array.isArray(m.of) ? m.of : [m.of];
    const roles = new Set<string>();
    if (m.agg === 'count') roles.add(Array.isArray(m.role) ? m.role[0] : m.role);
    const ofIsList = m.agg !== 'count' && Array.isArray(m.of);
    for (const [i, r] of ofRefs.entries()) roles.add(this.column(r, `${path}/of${ofIsList ? `/${i}` : ''}`).role);
    if (m.where) for (const r of whereRoles(m.where)) roles.add(r);
    for (const g of grouping.refs) roles.add(g.role);
    if (roles.size === 1) {
      const [role] = roles;
      return this.stackedMetric(
        m,
        [{ role, ...(ofRefs[0] !== undefined && m.agg !== 'sumProduct' ? { of: ofRefs[0] } : {}) }],
        grouping,
        eps,
        minGroup,
        path,
      );
    }
    return this.alignedMetric(m, [...roles], ofRefs, grouping, eps, minGroup, path);
  }

  /**
   * Rows of one or several roles stacked (no per-row products across roles): each role sends its group
   * totals (TOTALS feature layout, summed by the provider) and the broker adds the per-role totals on ciphertexts.
   */
  private stackedMetric(
    m: Extract<Metric, { agg: 'count' | 'sum' | 'mean' | 'variance' | 'stddev' | 'histogram' | 'sumProduct' }>,
    list: { role: string; of?: string }[],
    grouping: ReturnType<Compiler['grouping']>,
    eps: number | null,
    minGroup: number,
    path: string,
  ): CMetric {
    const { G, keys } = grouping;
    const W = blockWidth(this.slots, G);
    const leaders = Array.from({ length: G }, (_, g) => g * W);
    const single = list.length === 1;
    const fromRoles = new Set([...grouping.refs.map((r) => r.role), ...(m.where ? whereRoles(m.where) : [])]);
    const perRole = list.map(({ role, of }) => {
      // a list metric is written with one role's refs: rename them to each role, by column name
      let where = m.where;
      if (where)
        for (const from of fromRoles)
          if (from !== role) {
            if (!list.some((x) => x.role === from))
              throw new CompileError(`${path}/where`, 'where-role', `where names role ${from}, which is not in the metric`);
            where = renameRole(where, from, role);
          }
      const cols = grouping.refs.map((r, i) => {
        const spec = this.s.inputs[role].columns[r.column];
        if (!spec || spec.type !== 'category' || JSON.stringify(spec.values) !== JSON.stringify(r.values)) {
          throw new CompileError(
            `${path}/by${grouping.refs.length > 1 ? `/${i}` : ''}`,
            'by-mismatch',
            `role ${role} needs a category column ${r.column} with the same values`,
          );
        }
        return { column: r.column, values: r.values };
      });
      if (where) for (const ref of whereRolesRefs(where)) this.column(ref, `${path}/where`);
      return { role, of, where, grouping: { columns: cols } as LocalGrouping };
    });
    const bound = (ref: string | undefined): number => (ref ? this.numeric(ref, `${path}/of`).bound : 1);
    const B = Math.max(...perRole.map((p) => bound(p.of)));
    const totalRows = perRole.reduce((n, p) => n + this.rows(p.role), 0);

    const countCond = (kind: 'minGroupSize' | 'empty', min: number): string => {
      const parts = perRole.map((p) => ({
        role: p.role,
        count: this.count(p.role, p.where, p.grouping),
        groupMap: leaders.map((_, g) => g),
      }));
      const id = `c${this.conditions.length}`;
      this.conditions.push({ id, minGroupSize: min, groups: G, parts, combine: 'sum', kind });
      return id;
    };
    // Under noise a minGroupSize of 1 suppresses nothing that noise does not already hide: the groups are the
    // declared category lists (public partitions, no selection needed), and cutting empty groups exactly would
    // tell 0 rows from 1 (δ = 1). Every group is released noisily instead; minGroupSize >= 2 is a noisy selection.
    const suppress = minGroup > 1 || (minGroup === 1 && !this.s.release?.noise);
    const minConds = suppress ? [countCond('minGroupSize', minGroup)] : [];

    /**
     * A grouped sum of per-row values |v| <= maxRow (real units; also a row's L1 sensitivity) over the
     * roles' rows, at gain g = the largest power of two with (worst + Laplace tail)·g <= VALUE_CAP.
     * Worst |slot|: the total of every row (each provider sends its group totals, TOTALS layout, and the
     * broker adds the roles' totals). A single-role mean (its group total ÷ n_g, by the provider) is <= maxRow per group.
     */
    const gv = (
      value: (p: (typeof perRole)[number], gain: number) => FeatureValue,
      opts: { maxRow: number; perGroupMean?: boolean; round: boolean; eps: number | null; conditions?: string[] },
    ): GVal => {
      const worst = opts.perGroupMean ? opts.maxRow : totalRows * opts.maxRow;
      // L1 sensitivity of the metric's group values to one privacy unit: maxRow per row it contributes, and
      // it contributes up to unitRowBound rows to each role (1 without a privacy unit: the row is the unit;
      // maxRowsPerGroup·min(maxGroups, cells) with one, Wilson et al. 2020, privacy-unit.ts), in every role of
      // the metric (the same unit may hold rows in several). Each group's Laplace noise has scale sens/ε.
      const unitRows = this.s.release?.privacyUnit ? perRole.reduce((n, p) => n + unitRowBound(this.s, p.role), 0) : 1;
      const sens = opts.maxRow * unitRows;
      const tail = opts.eps === null ? 0 : (LAPLACE_TAIL * sens) / opts.eps;
      const l1Unit = opts.perGroupMean ? G * opts.maxRow : totalRows * opts.maxRow;
      // A correlation squares its operands after masking. Shrinking a large unclean value in that mask
      // is costly: the mask's encoding error (~2.4e-11 per slot, relative to the slot it multiplies)
      // leaves every partial sum's share in the masked-off slots, and the full-slot sum adds them up,
      // which n·Σa² − (Σa)² amplifies. So a squared operand gets a gain whose squares already fit.
      const cap = this.squared.has(m.name)
        ? Math.min(VALUE_CAP / (worst + tail), Math.sqrt(VALUE_CAP / (worst * l1Unit)))
        : VALUE_CAP / (worst + tail);
      const gain = pow2floor(cap);
      const sums = perRole.map((p) => {
        const f: Omit<FeatureSpec, 'id'> = {
          layout: 'totals',
          value: value(p, gain),
          grouping: p.grouping,
          width: W,
          ...(p.where ? { where: p.where } : {}),
          ...(opts.perGroupMean ? { perGroupMean: true } : {}),
        };
        const fid = this.feature(p.role, f);
        // the provider sends group totals (TOTALS layout): group g's total already sits at its leader g·W
        return this.node({ op: 'reduce', a: this.node({ op: 'input', role: p.role, feature: fid }) });
      });
      const l1 = l1Unit * gain;
      return {
        node: this.add(sums),
        groups: keys,
        leaders,
        clean: false,
        factor: 1 / gain,
        round: opts.round,
        conditions: opts.conditions ?? minConds,
        bound: worst * gain,
        l1,
        sens,
      };
    };
    const one = (_p: unknown, gain: number): FeatureValue => ({ kind: 'one', scale: gain });
    const pow =
      (k: number) =>
      (p: (typeof perRole)[number], gain: number): FeatureValue => {
        if (!p.of) throw new Error('internal: value ref missing');
        return { kind: 'columns', factors: [{ column: splitRef(p.of).column, power: k }], scale: gain };
      };
    const countVal = (e: number | null): GVal => gv(one, { maxRow: 1, round: true, eps: e });
    let emptyId: string | undefined;
    const empty = (): string => (emptyId ??= countCond('empty', 1));
    const out = (read: (blind?: string) => MetricDecoding, gval?: GVal, withEmpty = false): CMetric => ({
      groups: keys,
      ...(gval ? { gval } : {}),
      decode: memoDecode(read),
      ...(withEmpty ? { empty } : {}),
    });

    switch (m.agg) {
      case 'count': {
        const v = countVal(eps);
        return out((bl) => ({ kind: 'value', read: this.release(v, eps, bl), round: true }), v);
      }
      case 'sum': {
        const v = gv(pow(1), { maxRow: B, round: false, eps });
        return out((bl) => ({ kind: 'value', read: this.release(v, eps, bl), round: false }), v, true);
      }
      case 'sumProduct': {
        const [a, b] = m.of.map((r, i) => this.numeric(r, `${path}/of/${i}`));
        const v = gv(
          (_p, gain) => ({
            kind: 'columns',
            factors: [
              { column: a.column, power: 1 },
              { column: b.column, power: 1 },
            ],
            scale: gain,
          }),
          { maxRow: a.bound * b.bound, round: false, eps },
        );
        return out((bl) => ({ kind: 'value', read: this.release(v, eps, bl), round: false }), v, true);
      }
      case 'histogram': {
        const edges = m.bins;
        if (edges.length < 2 || edges.some((e, i) => i > 0 && e <= edges[i - 1]))
          throw new CompileError(`${path}/bins`, 'bins', 'bins must be at least two ascending edges');
        const col = splitRef(list[0].of ?? '').column;
        const bins = edges.slice(0, -1).map((lo, b) =>
          gv(
            (p, gain) => ({
              kind: 'bin',
              column: p.of ? splitRef(p.of).column : col,
              lo,
              hi: edges[b + 1],
              closed: b === edges.length - 2,
              scale: gain,
            }),
            { maxRow: 1, round: true, eps },
          ),
        );
        return out(() => ({ kind: 'histogram', bins: bins.map((v) => this.release(v, eps)) }));
      }
      case 'mean': {
        if (single && eps === null) {
          // the provider knows its group sizes: group total ÷ n_g (by the provider) is the mean itself
          const empty = countCond('empty', 1);
          const v = gv(pow(1), { maxRow: B, perGroupMean: true, round: false, eps: null, conditions: [...minConds, empty] });
          return out((bl) => ({ kind: 'value', read: this.release(v, null, bl), round: false }), v);
        }
        const e = eps === null ? null : eps / 2;
        const s = gv(pow(1), { maxRow: B, round: false, eps: e });
        const n = countVal(e);
        // the consumer gets Σx·r and n·r with a secret r per group: their quotient, not the operands
        return out((bl) => {
          const id = bl ?? `mean:${m.name}`;
          return { kind: 'quotient', num: this.release(s, e, id), den: this.release(n, e, id) };
        });
      }
      case 'variance':
      case 'stddev': {
        const sqrt = m.agg === 'stddev';
        if (single && eps === null) {
          const empty = countCond('empty', 1);
          const m1 = gv(pow(1), { maxRow: B, perGroupMean: true, round: false, eps: null, conditions: [...minConds, empty] });
          const m2 = gv(pow(2), { maxRow: B * B, perGroupMean: true, round: false, eps: null, conditions: [...minConds, empty] });
          return out(() => ({ kind: 'moments', m1: this.release(m1, null), m2: this.release(m2, null), factor2: 1, sqrt }));
        }
        const e = eps === null ? null : eps / 3;
        const s1 = gv(pow(1), { maxRow: B, round: false, eps: e });
        const s2 = gv(pow(2), { maxRow: B * B, round: false, eps: e });
        const n = countVal(e);
        return out((bl) => {
          const id = bl ?? `moments:${m.name}`;
          return {
            kind: 'moments',
            m1: this.release(s1, e, id),
            m2: this.release(s2, e, id),
            count: this.release(n, e, id),
            factor2: 1,
            sqrt,
          };
        });
      }
    }
  }

  /**
   * One row domain spanning aligned roles (where/by/of naming several roles): ALIGNED layout, each
   * provider emits its per-row factor, the broker multiplies them on ciphertexts, then sums.
   */
  private alignedMetric(
    m: Extract<Metric, { agg: 'count' | 'sum' | 'mean' | 'variance' | 'stddev' | 'histogram' | 'sumProduct' }>,
    roles: string[],
    ofRefs: string[],
    grouping: ReturnType<Compiler['grouping']>,
    eps: number | null,
    minGroup: number,
    path: string,
  ): CMetric {
    for (const r of roles) {
      if (!this.isAligned(r))
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
    const { G, keys } = grouping;
    const W = blockWidth(this.slots, G);
    const leaders = Array.from({ length: G }, (_, g) => g * W);
    const global: LocalGrouping = { columns: grouping.refs.map((r) => ({ column: r.column, values: r.values })) };
    const local = new Map<string, { grouping: LocalGrouping; positions: number[] }>();
    for (const r of roles) {
      const positions = grouping.refs.flatMap((x, i) => (x.role === r ? [i] : []));
      local.set(r, { grouping: { columns: positions.map((i) => global.columns[i]) }, positions });
    }
    const K = this.alignedCount(roles);
    const groupMapOf = (r: string): number[] => {
      const l = local.get(r);
      if (!l) throw new Error('internal');
      return leaders.map((_, g) => {
        const comp = groupComponents(global, g);
        return l.positions.reduce(
          (idx, pos, j) => idx * l.grouping.columns[j].values.length + l.grouping.columns[j].values.indexOf(comp[pos]),
          0,
        );
      });
    };
    const ofInfo = ofRefs.map((r, i) => this.numeric(r, `${path}/of/${i}`));
    /*
     * The joint count of contributing rows of a group (the plaintext reference's, docs/scenario-format.md):
     * the aligned keys whose row of every role is present and passes the role's where part and group
     * part, i.e. a sum over keys of the product of the roles' indicators. A sumProduct over two roles
     * counts the rows present of each of them instead (reference: "both roles counted"): one product per
     * of-role, over it and the roles the where/by name.
     */
    const ofRoles = [...new Set(ofInfo.map((x) => x.role))];
    const named = roles.filter((r) => whereParts.has(r) || (local.get(r)?.positions.length ?? 0) > 0);
    const termRoles: string[][] =
      m.agg === 'sumProduct' && ofRoles.length > 1 ? ofRoles.map((r) => roles.filter((q) => q === r || named.includes(q))) : [roles];
    const terms = termRoles.map((t) => t.map((r) => roles.indexOf(r)));
    const countCondition = (kind: 'minGroupSize' | 'empty', min: number): Condition => {
      const parts = roles.map((r) => ({
        role: r,
        count: this.count(r, whereParts.get(r), local.get(r)?.grouping ?? { columns: [] }),
        groupMap: groupMapOf(r),
      }));
      const c: Condition = {
        id: `c${this.conditions.length}`,
        minGroupSize: min,
        groups: G,
        parts,
        combine: 'min',
        ...(termRoles.length > 1 ? { terms } : {}),
        kind,
      };
      this.conditions.push(c);
      return c;
    };
    // The broker can only bound the joint count from above (min of the local counts: an early cut);
    // the consumer's decoding applies the rule from the encrypted joint count (jointCount). Without noise
    // that count is exact (the broker refuses such a job when minGroupSize > 1: ALIGNED_NOISE_REQUIRED, so
    // only empty groups are cut this way); under Laplace noise it is a noisy count, charged like a count
    // metric, and the consumer nulls the groups whose noisy joint count is under minGroupSize
    // (post-processing: compiler README, "Aligned joint groups").
    const minConds: string[] = [];
    if (minGroup > 0) {
      const c = countCondition('minGroupSize', minGroup);
      minConds.push(c.id);
      this.conditionHooks.set(c.id, () => {
        c.jointCount = jointRead();
      });
    }
    /**
     * Per role, its factor of the row value (|factor| <= maxRowOf(role), real units) at a power-of-two
     * gain; the gains multiply to the largest power of two with K·Π maxRow·gain (+ Laplace tail) <=
     * VALUE_CAP (K aligned rows: the total sits in every slot after the full rotate-and-sum), split so
     * every factor has about the same magnitude (splitGain). Partial products of the tree stay below
     * the full product's bound when each factor's magnitude is >= 1, and below 1 otherwise.
     */
    const gv = (
      value: (role: string, gain: number) => FeatureValue,
      opts: { maxRowOf: (role: string) => number; round: boolean; eps: number | null; over?: string[]; gain?: number },
    ): GVal => {
      // `over`: a product over these roles only (a term of a joint count); `gain`: a smaller total gain to use
      const over = opts.over ?? roles;
      const maxRows = over.map(opts.maxRowOf);
      const prodMax = maxRows.reduce((a, b) => a * b, 1);
      const worst = (opts.over ? this.alignedCount(over) : K) * prodMax;
      const tail = opts.eps === null ? 0 : (LAPLACE_TAIL * prodMax) / opts.eps;
      const total = Math.min(opts.gain ?? Infinity, pow2floor(VALUE_CAP / (worst + tail)));
      const gains = splitGain(total, maxRows);
      const perGroup = leaders.map((slot, g) => {
        const comp = groupComponents(global, g);
        const factors = over.map((r, ri) => {
          const l = local.get(r) ?? { grouping: { columns: [] }, positions: [] };
          const where = whereParts.get(r);
          const f: Omit<FeatureSpec, 'id'> = {
            layout: 'aligned',
            value: value(r, gains[ri]),
            grouping: { columns: [] },
            width: this.slots,
            ...(where ? { where } : {}),
            ...(l.positions.length
              ? { groupIs: l.positions.map((pos, j) => ({ column: l.grouping.columns[j].column, value: comp[pos] })) }
              : {}),
          };
          return this.node({ op: 'input', role: r, feature: this.feature(r, f) });
        });
        const total = this.node({ op: 'sumSlots', a: this.node({ op: 'reduce', a: this.product(factors) }), width: this.slots });
        return { total, slot, g };
      });
      // one mask per group keeps only its leader slot (totals are replicated in every slot), with suppression
      const masked = perGroup.map((p) =>
        this.node({ op: 'mask', a: p.total, entries: [{ group: p.g, slot: p.slot, scale: 1 }], conditions: minConds }),
      );
      return {
        node: this.add(masked),
        groups: keys,
        leaders,
        clean: true,
        factor: 1 / total,
        round: opts.round,
        conditions: minConds,
        bound: worst * total,
        l1: worst * total,
        sens: prodMax,
      };
    };
    const one = (gain: number): FeatureValue => ({ kind: 'one', scale: gain });
    const valueOf =
      (power: number) =>
      (role: string, gain: number): FeatureValue => {
        const mine = ofInfo.filter((x) => x.role === role);
        if (!mine.length) return one(gain);
        return { kind: 'columns', factors: mine.map((x) => ({ column: x.column, power })), scale: gain };
      };
    const maxRowOf =
      (power: number) =>
      (role: string): number =>
        ofInfo.filter((x) => x.role === role).reduce((p, x) => p * x.bound ** power, 1);
    const ones = (): number => 1;
    const out = (read: (blind?: string) => MetricDecoding, gval?: GVal): CMetric => ({
      groups: keys,
      ...(gval ? { gval } : {}),
      decode: memoDecode(read),
    });
    const countVal = (e: number | null): GVal => gv((_r, gain) => one(gain), { maxRowOf: ones, round: true, eps: e });
    let joint: Read | undefined;
    /** the joint counts as an output, masked like the metric (the same output as a count's or a mean's denominator) */
    const jointRead = (): Read => {
      if (joint) return joint;
      // under noise: a count release (sensitivity: one row changes each term's count by at most 1), its gains
      // sized for the Laplace tail like a noisy count metric's; a count metric's own release is the same output
      const noise = this.s.release?.noise;
      const ne = noise ? noise.epsilon : null;
      let v: GVal;
      if (termRoles.length === 1) v = countVal(ne);
      else {
        // one gain for every term, so their sum (and its noise tail) fits VALUE_CAP
        const T = termRoles.length;
        const worst = T * Math.max(...termRoles.map((t) => this.alignedCount(t)));
        const gain = pow2floor(VALUE_CAP / (worst + (ne === null ? 0 : (LAPLACE_TAIL * T) / ne)));
        const vs = termRoles.map((t) => gv((_r, g) => one(g), { maxRowOf: ones, round: true, eps: null, over: t, gain }));
        if (vs.some((x) => x.factor !== vs[0].factor)) throw new Error('internal: joint count terms at different gains');
        v = {
          ...vs[0],
          node: this.add(vs.map((x) => x.node)),
          bound: vs.reduce((a, x) => a + x.bound, 0),
          l1: vs.reduce((a, x) => a + x.l1, 0),
          sens: vs.length,
        };
      }
      const before = this.outputs.length;
      joint = this.release(v, ne);
      // charged when it is a release of its own (not the count metric's output, charged with the metric)
      if (ne !== null && this.outputs.length > before) this.epsilon += ne;
      return joint;
    };
    let emptyId: string | undefined;
    const empty = (): string => {
      if (emptyId) return emptyId;
      const c = countCondition('empty', 1);
      emptyId = c.id;
      c.jointCount = jointRead();
      return emptyId;
    };
    switch (m.agg) {
      case 'count': {
        const v = countVal(eps);
        return out((bl) => ({ kind: 'value', read: this.release(v, eps, bl), round: true }), v);
      }
      case 'sum':
      case 'sumProduct': {
        const v = gv(valueOf(1), { maxRowOf: maxRowOf(1), round: false, eps });
        return { ...out((bl) => ({ kind: 'value', read: this.release(v, eps, bl), round: false }), v), empty };
      }
      case 'histogram': {
        const edges = m.bins;
        const x = ofInfo[0];
        const bins = edges
          .slice(0, -1)
          .map((lo, b) =>
            gv(
              (r, gain) =>
                r === x.role
                  ? { kind: 'bin', column: x.column, lo, hi: edges[b + 1], closed: b === edges.length - 2, scale: gain }
                  : one(gain),
              { maxRowOf: ones, round: true, eps },
            ),
          );
        return out(() => ({ kind: 'histogram', bins: bins.map((v) => this.release(v, eps)) }));
      }
      case 'mean': {
        const e = eps === null ? null : eps / 2;
        const s = gv(valueOf(1), { maxRowOf: maxRowOf(1), round: false, eps: e });
        const n = countVal(e);
        // the consumer gets Σx·r and n·r with a secret r per group: their quotient, not the operands
        return out((bl) => {
          const id = bl ?? `mean:${m.name}`;
          return { kind: 'quotient', num: this.release(s, e, id), den: this.release(n, e, id) };
        });
      }
      case 'variance':
      case 'stddev': {
        const e = eps === null ? null : eps / 3;
        const s1 = gv(valueOf(1), { maxRowOf: maxRowOf(1), round: false, eps: e });
        const s2 = gv(valueOf(2), { maxRowOf: maxRowOf(2), round: false, eps: e });
        const n = countVal(e);
        return out((bl) => {
          const id = bl ?? `moments:${m.name}`;
          return {
            kind: 'moments',
            m1: this.release(s1, e, id),
            m2: this.release(s2, e, id),
            count: this.release(n, e, id),
            factor2: 1,
            sqrt: m.agg === 'stddev',
          };
        });
      }
    }
  }

  private weightedSum(m: WeightedSumMetric, path: string): CMetric {
    this.noiseEpsilon(m, path);
    if (!this.s.align)
      throw new CompileError(path, 'needs-align', 'weightedSum is a row-level output over aligned keys: the scenario needs align');
    if (!this.alignKeys)
      throw new CompileError(
        '/align/keys',
        'row-level-needs-keys',
        'a row-level output is keyed by the keys the consumer lists: align.keys is required',
      );
    if (this.s.release?.rowLevel !== true)
      throw new CompileError('/release/rowLevel', 'row-level', 'weightedSum needs release.rowLevel: true');
    const refs = m.of.map((r, i) => this.numeric(r, `${path}/of/${i}`));
    for (const [i, r] of refs.entries())
      if (!this.isAligned(r.role)) throw new CompileError(`${path}/of/${i}`, 'needs-align', `role ${r.role} is not in align.on`);
    const privWeights = isParam(m.weights) && this.s.params?.[paramName(m.weights)]?.private === true;
    const privBias = isParam(m.bias) && this.s.params?.[paramName(m.bias)]?.private === true;
    let weights: number[] | null = null;
    if (!privWeights) {
      const w = isParam(m.weights) ? this.params[paramName(m.weights)] : m.weights;
      if (!Array.isArray(w) || !w.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new CompileError(`${path}/weights`, 'param-missing', 'weights must be a list of numbers');
      weights = w as number[];
      if (weights.length !== refs.length)
        throw new CompileError(
          `${path}/weights`,
          'weights-length',
          `${refs.length} refs need ${refs.length} weights, got ${weights.length}`,
        );
    }
    let bias = 0;
    if (m.bias !== undefined && !privBias) {
      const b = isParam(m.bias) ? this.params[paramName(m.bias)] : m.bias;
      if (typeof b !== 'number' || !Number.isFinite(b)) throw new CompileError(`${path}/bias`, 'param-missing', 'bias must be a number');
      bias = b;
    }
    const rolesInOrder = [...new Set(refs.map((r) => r.role))];
    const biasBound = privBias ? PRIVATE_PARAM_BOUND : Math.abs(bias);
    let parts: NodeId[];
    /** the score's gain: slot = score × s (a power of two), |slot| <= VALUE_CAP for every row the bounds allow */
    let s: number;
    if (weights) {
      // public weights: each provider folds its own terms into one feature (cheaper, reveals nothing new)
      const ws = weights;
      s = pow2floor(VALUE_CAP / (refs.reduce((a, r, i) => a + Math.abs(ws[i]) * r.bound, 0) + biasBound || 1));
      parts = rolesInOrder.map((role) => {
        const terms = refs.flatMap((r, i) => (r.role === role ? [{ column: r.column, weight: ws[i] }] : []));
        const fid = this.feature(role, {
          layout: 'aligned',
          value: { kind: 'linear', terms, scale: s },
          grouping: { columns: [] },
          width: this.slots,
          rowLevel: true,
        });
        return this.node({ op: 'input', role, feature: fid });
      });
    } else {
      // private weights (|w| <= PRIVATE_PARAM_BOUND): term i is (x_i·g_i) × (w_i·m_i) with g_i·m_i = s for
      // every term, so each product is <= s·B_i·Wmax and the sum fits VALUE_CAP whatever the split. The
      // product's error in real units is e·(x/m + w/g), smallest at g = sqrt(s·w/x): g_i = 8·sqrt(s/B_i)
      // balances weights of order 1 against values ~B/64 (values sit well below their bounds; sizing
      // for |w| = Wmax and x = B would leave typical factors' ciphertexts tiny next to their noise).
      const pname = paramName(m.weights as string);
      const wmax = PRIVATE_PARAM_BOUND;
      s = pow2floor(VALUE_CAP / (refs.reduce((a, r) => a + r.bound * wmax, 0) + biasBound));
      parts = refs.map((r, i) => {
        const g = 8 * Math.sqrt(s / r.bound);
        const fid = this.feature(r.role, {
          layout: 'aligned',
          value: { kind: 'columns', factors: [{ column: r.column, power: 1 }], scale: g },
          grouping: { columns: [] },
          width: this.slots,
          rowLevel: true,
        });
        const name = this.privateInput(
          { name: `${pname}[${i}]`, param: pname, index: i, multiplier: s / g, layout: 'replicated', maxAbs: wmax },
          m.name,
        );
        return this.mul(this.node({ op: 'input', role: r.role, feature: fid }), this.node({ op: 'private', name }));
      });
    }
    if (privBias) {
      const bp = paramName(m.bias as string);
      const bname = this.privateInput(
        { name: bp, param: bp, index: null, multiplier: s, layout: 'replicated', maxAbs: PRIVATE_PARAM_BOUND },
        m.name,
      );
      parts.push(this.node({ op: 'private', name: bname }));
    }
    let node = this.add(parts);
    if (bias !== 0) node = this.node({ op: 'addPlain', a: node, plain: { kind: 'keys', value: bias * s } });
    const factor = 1 / s;
    const outId = this.output(node, []);
    return { groups: null, decode: () => ({ kind: 'rows', outputs: [outId], factor }) };
  }

  private operands(m: CombineMetric, path: string, allowParam: boolean): [CMetric, CMetric | null] {
    const [a, b] = m.of;
    const A = this.metric(a, `${path}/of/0`);
    if (allowParam && isParam(b)) return [A, null];
    return [A, this.metric(b, `${path}/of/1`)];
  }

  private sameGroups(a: CMetric, b: CMetric, path: string): void {
    if (JSON.stringify(a.groups) !== JSON.stringify(b.groups))
      throw new CompileError(`${path}/of`, 'groups-mismatch', 'the two metrics must be grouped by equal category lists');
  }

  private linear(x: CMetric, path: string): GVal {
    if (!x.gval)
      throw new CompileError(
        path,
        'operand-not-linear',
        'this operand is not a single encrypted value per group (use count, sum, a single-role mean, sumProduct or difference)',
      );
    return x.gval;
  }

  private difference(m: CombineMetric, path: string): CMetric {
    const eps = this.noiseEpsilon(m, path);
    const [A, B] = this.operands(m, path, false) as [CMetric, CMetric];
    this.sameGroups(A, B, path);
    const a = this.linear(A, `${path}/of/0`);
    const b = this.linear(B, `${path}/of/1`);
    const conditions = [...new Set([...a.conditions, ...b.conditions])];
    let g: GVal;
    const sens = a.sens + b.sens;
    if (
      !a.clean &&
      !b.clean &&
      a.factor === b.factor &&
      JSON.stringify(a.leaders) === JSON.stringify(b.leaders) &&
      a.bound + b.bound <= SLOT_CAP
    ) {
      // two values of at most VALUE_CAP each: their difference fits SLOT_CAP (release() rescales for noise)
      const [x, y] = this.levelled([a.node, b.node], true);
      g = {
        ...a,
        node: this.node({ op: 'sub', a: x, b: y }),
        round: a.round && b.round,
        conditions,
        bound: a.bound + b.bound,
        l1: a.l1 + b.l1,
        sens,
      };
    } else {
      // bring both to the larger factor (the smaller gain) in their masks, shrunk by t when the two
      // bounds plus the Laplace tail would exceed VALUE_CAP; scales are <= 1
      const f = Math.max(a.factor, b.factor);
      const tail = eps === null ? 0 : (LAPLACE_TAIL * sens) / eps / f;
      const t = Math.min(1, VALUE_CAP / ((a.bound * a.factor) / f + (b.bound * b.factor) / f + tail));
      const ma = this.maskVal(a, (a.factor / f) * t, conditions);
      const mb = this.maskVal(b, (b.factor / f) * t, conditions);
      const [x, y] = this.levelled([ma.node, mb.node], true);
      g = {
        ...ma,
        node: this.node({ op: 'sub', a: x, b: y }),
        factor: f / t,
        round: a.round && b.round,
        conditions,
        bound: ma.bound + mb.bound,
        l1: ma.l1 + mb.l1,
        sens,
      };
    }
    if (a.anyGroup || b.anyGroup) g.anyGroup = true;
    return { groups: A.groups, gval: g, decode: memoDecode((bl) => ({ kind: 'value', read: this.release(g, eps, bl), round: g.round })) };
  }

  private ratio(m: CombineMetric, path: string): CMetric {
    this.noiseEpsilon(m, path);
    const [A, B] = this.operands(m, path, false) as [CMetric, CMetric];
    if (A.groups && B.groups) this.sameGroups(A, B, path);
    const [a, b] = m.of;
    return {
      groups: A.groups ?? B.groups,
      decode: () => {
        // 0/0 reads as null (reference): a sum's empty group decodes as CKKS noise, not 0, so its emptiness
        // comes from counts (broker-side for stacked rows, the decrypted joint count for aligned ones)
        const emptyDen = B.empty ? [B.empty()] : [];
        const released = (name: string): boolean => this.s.metrics.find((x) => x.name === name)?.release !== false;
        if (released(a) && released(b)) {
          // the consumer reads both operands anyway: divide the released values
          this.decodings[a] ??= A.decode();
          this.decodingGroups[a] ??= A.groups;
          this.decodings[b] ??= B.decode();
          this.decodingGroups[b] ??= B.groups;
          return { kind: 'ratio', a, b, ...(emptyDen.length ? { emptyDen } : {}) };
        }
        // an internal operand is never decryptable: both operands are released blinded by the same secret
        // factor per group, so only their quotient means anything (README, threat model)
        const id = `ratio:${m.name}`;
        const [na, nb] = [`${m.name}#a`, `${m.name}#b`];
        this.decodings[na] = A.decode(id);
        this.decodings[nb] = B.decode(id);
        return { kind: 'ratio', a: na, b: nb, blinded: true, ...(emptyDen.length ? { emptyDen } : {}) };
      },
    };
  }

  private dot(m: CombineMetric, path: string): CMetric {
    this.noiseEpsilon(m, path);
    const [A, B] = this.operands(m, path, true);
    const a = this.linear(A, `${path}/of/0`);
    const G = a.leaders.length;
    let node: NodeId;
    let factor: number;
    if (B === null) {
      const pname = paramName(m.of[1]);
      const spec = this.s.params?.[pname];
      if (spec?.private === true) {
        // The consumer encrypts p_g·mult at the leader slots (|p_g| <= wmax); ct × ct keeps those slots.
        // An unclean A is masked first: its partial sums times the fresh noise of p's zero slots would
        // otherwise add ~sqrt(slots)·1e-9·bound to the total. Balanced: A' and p·mult both <= sqrt(VALUE_CAP).
        const wmax = PRIVATE_PARAM_BOUND;
        const root = Math.sqrt(VALUE_CAP);
        const ma = a.clean ? a : this.maskVal(a, root / a.l1, a.conditions);
        const mult = Math.min(VALUE_CAP / (ma.l1 * wmax), VALUE_CAP / wmax);
        const name = this.privateInput(
          { name: pname, param: pname, index: null, multiplier: mult, layout: 'slots', slots: a.leaders, maxAbs: wmax },
          m.name,
        );
        node = this.mul(ma.node, this.node({ op: 'private', name }));
        factor = ma.factor / mult;
      } else {
        const p = this.params[pname];
        if (!Array.isArray(p) || p.length !== G || !p.every((x) => typeof x === 'number' && Number.isFinite(x))) {
          throw new CompileError(`${path}/of/1`, 'param-missing', `${m.of[1]} must be a number-list with one value per group (${G})`);
        }
        const ps = p as number[];
        // Σ_g |A_g·p_g|·t <= max|p|·l1(A)·t = VALUE_CAP (also bounds every partial sum of the rotate-and-sum)
        const t = VALUE_CAP / ((Math.max(...ps.map(Math.abs)) || 1) * a.l1);
        node = this.node({
          op: 'mask',
          a: a.node,
          entries: a.leaders.map((slot, g) => ({ group: g, slot, scale: ps[g] * t })),
          conditions: [],
        });
        factor = a.factor / t;
      }
    } else {
      this.sameGroups(A, B, path);
      const b = this.linear(B, `${path}/of/1`);
      if (JSON.stringify(a.leaders) !== JSON.stringify(b.leaders))
        throw new CompileError(`${path}/of`, 'layout-mismatch', 'the two metrics use different slot layouts');
      // Σ_g |a_g·b_g| <= min(max|a|·Σ|b|, max|b|·Σ|a|) = P; scale so sA·sB·P <= VALUE_CAP. A clean
      // operand without conditions needs no mask (saves a level); otherwise balance the two magnitudes.
      const P = Math.min(a.bound * b.l1, b.bound * a.l1);
      const skipA = a.clean && a.conditions.length === 0;
      const skipB = b.clean && b.conditions.length === 0;
      let sA: number;
      let sB: number;
      if (skipA && skipB && P <= VALUE_CAP) [sA, sB] = [1, 1];
      else if (skipA) [sA, sB] = [1, Math.min(VALUE_CAP / P, VALUE_CAP / b.bound)];
      else if (skipB) [sA, sB] = [Math.min(VALUE_CAP / P, VALUE_CAP / a.bound), 1];
      else {
        sA = Math.min(Math.sqrt((VALUE_CAP / P) * (b.bound / a.bound)), VALUE_CAP / a.bound);
        sB = Math.min(VALUE_CAP / (P * sA), VALUE_CAP / b.bound);
      }
      const ma = skipA && sA === 1 ? a : this.maskVal(a, sA, []);
      const mb = skipB && sB === 1 ? b : this.maskVal(b, sB, []);
      node = this.mul(ma.node, mb.node);
      factor = ma.factor * mb.factor;
    }
    const total = this.node({ op: 'sumSlots', a: node, width: this.slots });
    const conds = [...new Set([...a.conditions, ...(B ? this.linear(B, path).conditions : [])])];
    // the total sits in every slot (full rotate-and-sum): nothing partial to mask away
    const g: GVal = {
      node: total,
      groups: null,
      leaders: [0],
      clean: true,
      factor,
      round: false,
      conditions: conds,
      bound: VALUE_CAP,
      l1: VALUE_CAP,
      sens: 0,
      anyGroup: true,
    };
    return { groups: null, gval: g, decode: memoDecode((bl) => ({ kind: 'value', read: this.release(g, null, bl), round: false })) };
  }

  private correlation(m: CombineMetric, path: string): CMetric {
    this.noiseEpsilon(m, path);
    const [A, B] = this.operands(m, path, false) as [CMetric, CMetric];
    this.sameGroups(A, B, path);
    if (!A.groups) throw new CompileError(`${path}/of`, 'not-grouped', 'correlation across groups needs grouped metrics');
    const a = this.linear(A, `${path}/of/0`);
    const b = this.linear(B, `${path}/of/1`);
    // Pearson r is invariant to scaling each series: scale each in its mask so Σa², Σa (and, by
    // Cauchy-Schwarz, Σab) stay <= VALUE_CAP: Σa'² <= t²·max|a|·Σ|a|
    const fit = (x: GVal): number => Math.min(Math.sqrt(VALUE_CAP / (x.bound * x.l1)), VALUE_CAP / x.l1, VALUE_CAP / x.bound);
    const ma = this.maskVal(a, fit(a), []);
    const mb = this.maskVal(b, fit(b), []);
    const conds = [...new Set([...a.conditions, ...b.conditions])];
    const tot = (n: NodeId): Read => ({
      output: this.output(this.node({ op: 'sumSlots', a: n, width: this.slots }), conds, true),
      slots: [0],
      factor: 1,
    });
    const dec: MetricDecoding = {
      kind: 'correlation',
      sa: tot(ma.node),
      sb: tot(mb.node),
      saa: tot(this.mul(ma.node, ma.node)),
      sbb: tot(this.mul(mb.node, mb.node)),
      sab: tot(this.mul(ma.node, mb.node)),
      n: a.leaders.length,
    };
    return { groups: null, decode: () => dec };
  }
}

function whereRolesRefs(e: WhereExpr): string[] {
  if ('and' in e) return e.and.flatMap(whereRolesRefs);
  if ('or' in e) return e.or.flatMap(whereRolesRefs);
  if ('not' in e) return whereRolesRefs(e.not);
  const v = Object.values(e)[0] as [string, unknown];
  return [v[0]];
}

/**
 * Compiles a validated scenario into a plan. `params` holds the public parameter values (private
 * ones are absent: the consumer encrypts them as `plan.privateInputs` says). Refuses, with a path
 * and a reason, plans that exceed the slot capacity or the supported multiplicative depth.
 */
export function compilePlan(scenario: Scenario, params: ParamValues, ctx: CompileContext = {}): CompileResult {
  const errors: PlanError[] = [];
  let slots = 4096;
  for (let attempt = 0; attempt < 2; attempt++) {
    let body: ReturnType<Compiler['run']>;
    try {
      body = new Compiler(scenario, params, ctx, slots).run();
    } catch (e) {
      if (e instanceof CompileError) {
        errors.push({ path: e.path, code: e.code, message: e.message });
        return { ok: false, errors };
      }
      throw e;
    }
    const he = planParamsForDepth(body.depth);
    if (!he) {
      return {
        ok: false,
        errors: [
          {
            path: '/metrics',
            code: 'depth-capacity',
            message: `the circuit needs multiplicative depth ${body.depth}, above the supported maximum (9 at N=16384)`,
          },
        ],
      };
    }
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
