/**
 * The compiled plan: plain JSON, stored with the job, sent to the providers (their `roles` entry),
 * to the broker's evaluation workers (`circuit`, `outputs`, `conditions`) and to the consumer
 * (`decoding`, `privateInputs`). Nothing in it is secret: it is a function of the public scenario
 * document, the public parameter values and public row counts. See compiler/README.md.
 */
import type { HeParams } from '#he-core';
import type { WhereExpr } from '../types.js';
import type { UnitBounding } from '../privacy-unit.js';

/** A plaintext vector the broker builds while evaluating (never data of a provider). */
export type PlainVec =
  /** the same value in every slot */
  | { kind: 'const'; value: number }
  /** `value` at every slot that holds a real aligned key (row-level outputs), zeros elsewhere */
  | { kind: 'keys'; value: number };

/** A group selector of one role: the values of its own `by` columns. */
export interface LocalGrouping {
  /** columns of this role, in `by` order, with their category lists */
  columns: { column: string; values: string[] }[];
}

/** What one feature holds per row (computed by the provider, in plaintext). */
export type FeatureValue =
  /** `scale` (the feature's gain; 1 when absent, plans before gains) per row: counts */
  | { kind: 'one'; scale?: number }
  /** product of clamped columns of this role, each raised to `power`, times `scale` */
  | { kind: 'columns'; factors: { column: string; power: number }[]; scale: number }
  /** `scale` (1 when absent) when the clamped column is in [lo, hi) (or [lo, hi] when `closed`), else 0 */
  | { kind: 'bin'; column: string; lo: number; hi: number; closed: boolean; scale?: number }
  /** sum over `terms` of weight * clamped column, times `scale` (public weights of a weightedSum) */
  | { kind: 'linear'; terms: { column: string; weight: number }[]; scale: number };

/**
 * One feature of a role: a per-row plaintext number, multiplied by the row's local `where`
 * indicator (and, for an aligned feature, by its group indicator), laid out in slots.
 * `totals`: summed per group by the provider, group g's total at slot g·width of one ciphertext (README, "Layouts").
 * `aligned`: one slot per aligned key, chunks of `slots` keys.
 */
export interface FeatureSpec {
  id: string;
  layout: 'totals' | 'aligned';
  value: FeatureValue;
  /** this role's part of the metric's `where` (refs written `role.column` of this role) */
  where?: WhereExpr;
  /** totals: rows are grouped by these columns, group g's total at slot g·`width` */
  grouping: LocalGrouping;
  /** totals only: the metric's leader spacing W (a power of two, G·W <= slots) */
  width: number;
  /** totals only: divide each group's total by its contributing-row count (single-role means) */
  perGroupMean?: boolean;
  /** aligned only: keep only rows whose group columns equal these values (a per-group feature) */
  groupIs?: { column: string; value: string }[];
  /** aligned only: per-chunk (row-level) feature, never summed over chunks */
  rowLevel?: boolean;
}

/** Per-group counts of contributing rows a provider reports (after its local `where`). */
export interface CountSpec {
  id: string;
  where?: WhereExpr;
  grouping: LocalGrouping;
}

export interface ProviderWork {
  /** columns the provider reads (nothing else leaves its store, even encrypted) */
  columns: string[];
  /** numeric columns are clamped to these bounds before anything else */
  bounds: Record<string, { min: number; max: number }>;
  /** id column used for alignment, when the role is aligned */
  alignOn?: string;
  features: FeatureSpec[];
  counts: CountSpec[];
  /**
   * Rows the plan's gains were sized for (the public row count, or DEFAULT_ROW_BOUND): a provider
   * with more rows must refuse, since its sums could exceed the slot headroom (README, "Magnitudes").
   * Absent in plans compiled before gains.
   */
  maxRows?: number;
  /**
   * Contribution bounding of the scenario's privacy unit (`release.privacyUnit`, privacy-unit.ts): before
   * anything else is encoded or counted, each unit (value of `column`) keeps its first rows in input order, at
   * most `maxRowsPerGroup` in each of at most `maxGroups` cells of `groupBy`. Absent without a privacy unit and
   * for an aligned role (one row per key already).
   */
  unit?: UnitBounding;
}

export type NodeId = string;

/** The broker's circuit: a typed IR over encrypted vectors, in topological order. */
export type CircuitOp =
  /** the chunk list a provider uploaded for one feature */
  | { op: 'input'; role: string; feature: string }
  /** one ciphertext of the consumer (a private parameter, already replicated over all slots) */
  | { op: 'private'; name: string }
  /** sum of a chunk list: the splittable "partial sums" */
  | { op: 'reduce'; a: NodeId }
  | { op: 'add'; args: NodeId[] }
  | { op: 'sub'; a: NodeId; b: NodeId }
  /** ciphertext × ciphertext, chunk-wise (a single ciphertext broadcasts over a chunk list) */
  | { op: 'mul'; a: NodeId; b: NodeId }
  | { op: 'mulPlain'; a: NodeId; plain: PlainVec }
  | { op: 'addPlain'; a: NodeId; plain: PlainVec }
  /** rotate-and-sum in windows of `width` slots (slot k·width holds window k's sum) */
  | { op: 'sumSlots'; a: NodeId; width: number }
  /**
   * Multiply by a plaintext that is `scale` at the listed slots and 0 elsewhere; an entry whose
   * group is suppressed by one of `conditions` gets 0 (release control, applied by the broker).
   */
  | {
      op: 'mask';
      a: NodeId;
      entries: { group: number; slot: number; scale: number }[];
      conditions: string[];
      /**
       * Blinding (the operands of a quotient): every entry of group g is also multiplied by a secret factor
       * r_g = 2^(BLIND_BITS·u), u uniform in [0, 1), drawn by the broker per job and per blinding id and never
       * stored; masks with the same id share the factors, so their quotient is unchanged (circuit.ts).
       */
      blind?: string;
    }
  /**
   * add Laplace noise of the given scale at the listed slots (release control): an integer multiple of
   * `grid` (slot units; one count for a rounded value, else a power of two 2^-GRID_BITS below the scale),
   * discrete Laplace, truncated symmetrically at LAPLACE_TAIL scales (sampler.ts)
   */
  | { op: 'noise'; a: NodeId; slots: number[]; scale: number; grid?: number; blind?: string };

export type CircuitNode = CircuitOp & {
  id: NodeId;
  /** rescales consumed so far (multiplicative depth) */
  level: number;
  /** true when the value is a list of chunks (aligned row chunks, or a feature before `reduce`) */
  chunked: boolean;
};

export interface Circuit {
  nodes: CircuitNode[];
}

/** A small-group suppression rule the broker evaluates from the providers' reported counts. */
export interface Condition {
  id: string;
  minGroupSize: number;
  /** groups of the metric */
  groups: number;
  /** each role's count; `groupMap[g]` is the role's local group index of global group g */
  parts: { role: string; count: string; groupMap: number[] }[];
  /** combined count of a group: sum over roles (stacked rows) or min (an upper bound for aligned rows) */
  combine: 'sum' | 'min';
  /**
   * `combine: 'min'` only: the joint count is a sum of products over subsets of the parts (a sumProduct
   * over two aligned roles counts each role's present rows); its upper bound is the sum over these
   * subsets (indices into `parts`) of the min of their counts. Absent: one subset of every part.
   */
  terms?: number[][];
  /**
   * `minGroupSize`: release control, listed in the result's `meta.suppressed`; `empty`: a group of no
   * rows reads as null (a mean, or the denominator of a ratio), not listed
   */
  kind: 'minGroupSize' | 'empty';
  /**
   * Aligned rows: the exact joint count of contributing rows per group is known to nobody in
   * plaintext, so the plan also releases it as an encrypted output (a product of the providers'
   * indicator factors, summed and masked like the metric), and the consumer's `decodeResult` nulls the
   * groups whose decrypted joint count is below `minGroupSize` (README, threat model). The broker's
   * `combine` bound above is only an early cut.
   */
  jointCount?: Read;
  /**
   * `minGroupSize` under Laplace noise (`release.noise`): the broker releases a group iff its combined count is at
   * least `minGroupSize` and count + Z >= `threshold`, Z discrete Laplace of scale `scale` (noisy-threshold partition
   * selection, selection.ts). Absent: the exact rule (count < minGroupSize is cut), no DP claim.
   */
  selection?: { epsilon: number; delta: number; sensitivity: number; scale: number; threshold: number };
}

export interface OutputSpec {
  id: string;
  node: NodeId;
  /** conditions whose suppressed groups read as null in this output */
  conditions: string[];
  /**
   * A total over groups (dot, correlation): if any condition suppresses any group, the broker
   * withholds the whole output and the metric reads as null.
   */
  anyGroup?: boolean;
}

/** How the consumer reads one value per group from a decrypted output. */
export interface Read {
  output: string;
  /** slot of each group (length = groups; 1 when ungrouped) */
  slots: number[];
  /** multiply the slot value by this to get the real value */
  factor: number;
  /**
   * The value also carries its quotient's secret blinding factor (in [1, 2^BLIND_BITS)): only its quotient
   * with the read blinded by the same id means anything; never rounded.
   */
  blinded?: boolean;
}

export type MetricDecoding =
  | { kind: 'value'; read: Read; round: boolean }
  | { kind: 'quotient'; num: Read; den: Read }
  | { kind: 'moments'; m1: Read; m2: Read; count?: Read; factor2: number; sqrt: boolean }
  | { kind: 'histogram'; bins: Read[] }
  /** `emptyDen`: conditions whose groups (broker-suppressed or decoded) have an empty denominator: 0/0 reads as null */
  | { kind: 'ratio'; a: string; b: string; emptyDen?: string[]; blinded?: boolean }
  | { kind: 'correlation'; sa: Read; sb: Read; saa: Read; sbb: Read; sab: Read; n: number }
  | { kind: 'rows'; outputs: string[]; factor: number };

export interface Decoding {
  /** every metric the consumer decodes (released ones and operands of a `ratio`) */
  metrics: Record<string, MetricDecoding>;
  /** group keys of each metric (`"a|b"` for a cross product), null when ungrouped */
  groups: Record<string, string[] | null>;
  /** released metric names, in document order */
  released: string[];
}

/** A private parameter the consumer encrypts: value × multiplier, replicated over all slots. */
export interface PrivateInput {
  /** name of the ciphertext in `evaluateCircuit`'s `privateParams` */
  name: string;
  param: string;
  /** index into a `number-list` parameter (null for a `number`) */
  index: number | null;
  multiplier: number;
  /** `replicated`: value × multiplier in every slot; `slots`: value[i] × multiplier at slots[i], zeros elsewhere */
  layout: 'replicated' | 'slots';
  slots?: number[];
  /**
   * The multiplier is sized for |value| <= maxAbs (the compiler cannot see private values); the
   * consumer must refuse larger values, which could wrap modulo the bottom-level modulus.
   */
  maxAbs?: number;
}

export interface Plan {
  format: 'dataspace-plan/1';
  scenario: string;
  /** the CKKS parameters the consumer's keyset must have (`#he-core`) */
  params: HeParams;
  slots: number;
  depth: number;
  galoisSteps: number[];
  needsRelin: boolean;
  align: { on: Record<string, string>; keys: string[] | null } | null;
  roles: Record<string, ProviderWork>;
  circuit: Circuit;
  conditions: Condition[];
  outputs: OutputSpec[];
  privateInputs: PrivateInput[];
  /**
   * epsilon charged per bound dataset when the job runs (0 without noise): the metrics' noise plus the noisy
   * small-group selections (`Condition.selection`, each distinct one once)
   */
  epsilon: number;
  decoding: Decoding;
}

export interface PlanError {
  path: string;
  code: string;
  message: string;
}

export type CompileResult = { ok: true; plan: Plan } | { ok: false; errors: PlanError[] };

export interface CompileContext {
  /** rows per role (public metadata of the bound datasets); sizes the scaling of products */
  rowCounts?: Record<string, number>;
  /** aligned key count when alignment is by private set intersection */
  alignedKeyCount?: number;
}
