/**
 * Types of the public scenario document (docs/scenario-format.md).
 * These are the shapes *after* validation (`validateScenario`), never trusted before it.
 */

/** `role.column` */
export type Ref = string;

export type ColumnType = 'number' | 'integer' | 'category' | 'id';

export interface NumberColumn {
  type: 'number' | 'integer';
  min: number;
  max: number;
  description?: string;
}
export interface CategoryColumn {
  type: 'category';
  values: string[];
  description?: string;
}
export interface IdColumn {
  type: 'id';
  description?: string;
}
export type ColumnSpec = NumberColumn | CategoryColumn | IdColumn;

export interface RoleInput {
  columns: Record<string, ColumnSpec>;
  description?: string;
}

export type ParamType = 'number' | 'number-list' | 'id-list' | 'category';
export interface ParamSpec {
  type: ParamType;
  /** Only for `number` and `number-list`: sent encrypted under the consumer's key. */
  private?: boolean;
  /** For `category`: the allowed values. */
  values?: string[];
  description?: string;
  default?: number | number[] | string | string[];
}

export type Literal = number | string;
export type Comparison = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type WhereExpr =
  | { eq: [Ref, Literal] }
  | { ne: [Ref, Literal] }
  | { gt: [Ref, Literal] }
  | { ge: [Ref, Literal] }
  | { lt: [Ref, Literal] }
  | { le: [Ref, Literal] }
  | { in: [Ref, Literal[]] }
  | { and: WhereExpr[] }
  | { or: WhereExpr[] }
  | { not: WhereExpr };

export type Agg =
  | 'count'
  | 'sum'
  | 'mean'
  | 'variance'
  | 'stddev'
  | 'histogram'
  | 'sumProduct'
  | 'weightedSum'
  | 'correlation'
  | 'dot'
  | 'ratio'
  | 'difference';

interface MetricBase {
  name: string;
  release?: boolean;
  description?: string;
}
export interface CountMetric extends MetricBase {
  agg: 'count';
  role: string | string[];
  where?: WhereExpr;
  by?: Ref | Ref[];
}
export interface StatMetric extends MetricBase {
  agg: 'sum' | 'mean' | 'variance' | 'stddev';
  of: Ref | Ref[];
  where?: WhereExpr;
  by?: Ref | Ref[];
}
export interface HistogramMetric extends MetricBase {
  agg: 'histogram';
  of: Ref | Ref[];
  bins: number[];
  where?: WhereExpr;
  by?: Ref | Ref[];
}
export interface SumProductMetric extends MetricBase {
  agg: 'sumProduct';
  of: [Ref, Ref];
  where?: WhereExpr;
  by?: Ref | Ref[];
}
export interface WeightedSumMetric extends MetricBase {
  agg: 'weightedSum';
  of: Ref[];
  weights: number[] | string;
  bias?: number | string;
}
/** `of` names other metrics (or, for `dot`, a `$params.x` second operand). */
export interface CombineMetric extends MetricBase {
  agg: 'correlation' | 'dot' | 'ratio' | 'difference';
  of: [string, string];
}
export type Metric = CountMetric | StatMetric | HistogramMetric | SumProductMetric | WeightedSumMetric | CombineMetric;

export interface Align {
  on: Record<string, string>;
  keys?: string;
}

/**
 * The privacy unit (docs/scenario-format.md, "Privacy unit"): whose contribution the noise hides. Each role
 * names its id column holding the unit (a person, a firm); before encoding, a provider keeps of each unit's rows
 * at most `maxRowsPerGroup` in each of at most `maxGroups` groups, and the Laplace sensitivities use these bounds.
 */
export interface PrivacyUnit {
  /** role → its id column holding the unit; every role is listed, an aligned role by its `align.on` column */
  on: Record<string, string>;
  maxGroups: number;
  maxRowsPerGroup: number;
}

export interface Release {
  minGroupSize?: number;
  noise?: { mechanism: 'laplace'; epsilon: number };
  rowLevel?: boolean;
  privacyUnit?: PrivacyUnit;
}

export interface Scenario {
  id: string;
  title: string;
  sector?: string;
  description?: string;
  inputs: Record<string, RoleInput>;
  params?: Record<string, ParamSpec>;
  metrics: Metric[];
  align?: Align;
  release?: Release;
}

/** Values the consumer supplies for `params` at submission (private ones are replaced by ciphertext ids). */
export type ParamValues = Record<string, number | number[] | string | string[]>;

/** One plaintext row of a dataset: column name → value. */
export type Row = Record<string, number | string>;

/** The result document (docs/scenario-format.md, "The result document"). */
export type MetricValue = number | null | (number | null)[] | Record<string, number | null | (number | null)[]>;
export interface ResultDocument {
  scenario: string;
  version: number;
  job: string;
  metrics: Record<string, MetricValue>;
  meta: {
    rows: Record<string, number>;
    suppressed: Record<string, string[]>;
    epsilonSpent: number;
    scheme: string;
    polyModulusDegree: number;
    missingKeys?: Record<string, number>;
    [k: string]: unknown;
  };
}
