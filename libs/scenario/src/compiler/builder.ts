/**
 * The plan under construction, shared by every layout: each role's `ProviderWork` (the columns it reads, its
 * features and counts), the circuit's nodes with their predicted levels and scales (scale.ts), the conditions,
 * outputs, private inputs and decodings, and the epsilon charged so far. Every feature, count and node is
 * created once (keyed by its JSON), so two metrics that need the same value share it.
 */
import type { WhereExpr } from '../types.js';
import type {
  CircuitNode,
  CircuitOp,
  Condition,
  CountSpec,
  FeatureSpec,
  LocalGrouping,
  MetricDecoding,
  NodeId,
  OutputSpec,
  PrivateInput,
  ProviderWork,
} from './plan-types.js';
import { unitBounding } from '../privacy-unit.js';
import { splitRef, whereRefs } from './where.js';
import { type NodeShape, type Scale, shapeOf } from './scale.js';
import type { Scope } from './scope.js';

export class PlanBuilder {
  readonly roles = new Map<string, ProviderWork>();
  private readonly featureKeys = new Map<string, string>();
  private readonly countKeys = new Map<string, string>();
  readonly nodes: CircuitNode[] = [];
  private readonly nodeKeys = new Map<string, NodeId>();
  /** CKKS scale of every node, as the engine will track it (scale.ts) */
  private readonly scales = new Map<NodeId, Scale>();
  readonly conditions: Condition[] = [];
  readonly outputs: OutputSpec[] = [];
  readonly privateInputs: PrivateInput[] = [];
  readonly decodings: Record<string, MetricDecoding> = {};
  readonly decodingGroups: Record<string, string[] | null> = {};
  readonly released: string[] = [];
  /** rotate-and-sum widths, for the plan's rotation steps */
  readonly widths = new Set<number>();
  /** run once when an output first carries the condition: releases its joint count (aligned rows) */
  readonly conditionHooks = new Map<string, () => void>();
  /** the Laplace epsilon charged by the releases built so far (sequential composition) */
  epsilon = 0;

  constructor(readonly scope: Scope) {}

  // ---------- what each provider reads and computes ----------

  work(role: string): ProviderWork {
    let w = this.roles.get(role);
    if (!w) {
      const s = this.scope.s;
      w = { columns: [], bounds: {}, features: [], counts: [], maxRows: this.scope.rows(role) };
      const on = s.align?.on[role];
      if (on !== undefined) {
        w.alignOn = on;
        w.columns.push(on);
      }
      // the provider reads the unit and its partition's columns to bound each unit's rows (privacy-unit.ts)
      const unit = unitBounding(s, role);
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
    const spec = this.scope.s.inputs[role].columns[column];
    if (spec && (spec.type === 'number' || spec.type === 'integer')) w.bounds[column] = { min: spec.min, max: spec.max };
  }

  private useWhere(role: string, where: WhereExpr | undefined): void {
    if (!where) return;
    for (const r of whereRefs(where)) this.useColumn(role, splitRef(r).column);
  }

  feature(role: string, f: Omit<FeatureSpec, 'id'>): string {
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

  count(role: string, where: WhereExpr | undefined, grouping: LocalGrouping): string {
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

  // ---------- circuit nodes ----------

  node(op: CircuitOp): NodeId {
    const key = JSON.stringify(op);
    const known = this.nodeKeys.get(key);
    if (known) return known;
    const { level, scale, chunked } = shapeOf(op, (a) => this.shape(a));
    if (op.op === 'sumSlots') this.widths.add(op.width);
    const id = `v${this.nodes.length}`;
    this.nodes.push({ ...op, id, level, chunked } as CircuitNode);
    this.nodeKeys.set(key, id);
    this.scales.set(id, scale);
    return id;
  }

  private shape(id: NodeId): NodeShape {
    const n = this.nodes.find((x) => x.id === id);
    const scale = this.scales.get(id);
    if (!n || scale === undefined) throw new Error(`internal: unknown node ${id}`);
    return { level: n.level, scale, chunked: n.chunked };
  }

  /**
   * Brings nodes to one level by multiplying the shallower ones by 1 (mulPlain keeps the scale), for a
   * ct × ct product. For an add/sub (`sum`), an operand whose CKKS scale differs from the deepest
   * operand's is brought only to one level below it: the engine then rescales it onto that scale for
   * free, whereas two operands at the same level with different scales would cost an extra level
   * (HeEngine.align; a difference of a dot of two metrics, scale s²/q, and a dot with a public list,
   * scale s, ran out of levels that way).
   */
  levelled(ids: NodeId[], sum = false): NodeId[] {
    const level = (id: NodeId): number => this.shape(id).level;
    const top = Math.max(...ids.map(level));
    const target = this.shape(ids.find((i) => level(i) === top) as NodeId).scale;
    return ids.map((id) => {
      const to = sum && this.shape(id).scale !== target ? top - 1 : top;
      let cur = id;
      while (level(cur) < to) cur = this.node({ op: 'mulPlain', a: cur, plain: { kind: 'const', value: 1 } });
      return cur;
    });
  }

  add(ids: NodeId[]): NodeId {
    return ids.length === 1 ? ids[0] : this.node({ op: 'add', args: this.levelled(ids, true) });
  }

  mul(a: NodeId, b: NodeId): NodeId {
    const [x, y] = this.levelled([a, b]);
    return this.node({ op: 'mul', a: x, b: y });
  }

  /** The product of several ciphertexts: a balanced tree keeps the depth at ceil(log2(n)). */
  product(ids: NodeId[]): NodeId {
    let layer = ids;
    while (layer.length > 1) {
      const next: NodeId[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(i + 1 < layer.length ? this.mul(layer[i], layer[i + 1]) : layer[i]);
      layer = next;
    }
    return layer[0];
  }

  // ---------- what the consumer encrypts and decrypts ----------

  /**
   * Registers a ciphertext the consumer encrypts; returns its name. Metrics that need the same parameter
   * at another multiplier or layout get their own ciphertext (`metric:name`).
   */
  privateInput(p: PrivateInput, metric: string): string {
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

  output(node: NodeId, conditions: string[], anyGroup = false): string {
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
}
