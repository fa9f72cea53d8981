/**
 * The error shape of every check in this folder: a path, a stable code, a message.
 *
 * Paths are JSON Pointers (RFC 6901): `/metrics/2/of/1`, `""` for the document itself.
 * A pointer is unambiguous for any key (a role named `a.b` or `x/y` stays one segment,
 * escaped as `~0`/`~1`), which a `$.metrics[2].of` style path is not.
 */

/** Stable machine-readable codes; messages are for people and may change. */
export type IssueCode =
  | 'type' // wrong JSON type (object expected, string expected, finite number expected, ...)
  | 'required' // a required field is absent
  | 'unknown_field' // a field the format does not define (typos are never silently ignored)
  | 'empty' // an empty list or object where at least one entry is needed
  | 'too_long' // a string or list over its documented limit
  | 'bad_id' // the scenario id is not lower-case kebab case
  | 'bad_name' // a role, column, param or metric name is not a plain identifier
  | 'enum' // a value outside a closed set (column type, param type, noise mechanism)
  | 'unknown_agg'
  | 'duplicate' // duplicate metric name, category value, list entry
  | 'bad_value' // a value of the right type outside its domain (minGroupSize 0, epsilon <= 0, '|' in a category)
  | 'not_integer'
  | 'min_gt_max'
  | 'bins_not_ascending'
  | 'bad_ref' // not of the form `role.column`
  | 'unknown_role'
  | 'unknown_column'
  | 'unknown_param'
  | 'unknown_metric'
  | 'type_mismatch' // a column or literal of the wrong type for its use (sum of a category, ...)
  | 'not_category' // `by` on a column that is not a category
  | 'unknown_category_value' // a literal or parameter value not in the category's list
  | 'param_type' // a `$params.x` of the wrong parameter type for its use
  | 'private_param_type' // `private` on a parameter that is not number / number-list
  | 'private_param_use' // a private parameter where only a public one can work (a `where` filter)
  | 'arity' // a list of the wrong length (sumProduct needs two refs, ...)
  | 'same_role' // a multi-role `of`/`role` list naming one role twice
  | 'column_mismatch' // multi-role metric: roles lack a same-named column with equal values
  | 'not_aligned' // a metric or ref needs `align` covering its roles
  | 'not_id' // `align.on` names a column that is not of type id
  | 'align_too_few' // `align` without keys over fewer than two roles
  | 'unit_role' // `release.privacyUnit.on` leaves out a role of `inputs` (every role names its unit column)
  | 'unit_align' // an aligned role's privacy unit is not its `align.on` column
  | 'row_level_required' // weightedSum without `release.rowLevel: true`
  | 'length_mismatch' // weights vs `of`, a dot parameter vs groups
  | 'invalid_operand' // a derived metric over a histogram or a row-level metric
  | 'group_mismatch' // operands grouped by different category lists
  | 'not_grouped' // dot/correlation operands without `by`
  | 'too_few_groups' // correlation over fewer than two groups
  | 'too_many_groups' // a `by` cross product over MAX_GROUPS groups
  | 'too_many_metrics' // more than MAX_METRICS metrics
  | 'too_many_outputs' // released values (groups, summed over metrics) over MAX_OUTPUT_VALUES
  | 'cycle' // derived metrics referring to themselves
  | 'bad_where' // a where node with no operator or several
  | 'too_deep' // a where expression nested deeper than MAX_WHERE_DEPTH
  | 'internal'; // the input could not be read at all (a cyclic object, a throwing getter)

export interface ScenarioIssue {
  path: string;
  code: IssueCode;
  message: string;
}

export type PathSegment = string | number;

/** RFC 6901 JSON Pointer of `segments` (`~` → `~0`, `/` → `~1`). */
export function pointer(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) out += '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1');
  return out;
}

/** Collects issues; a validator never stops at the first one. */
export class IssueList {
  readonly items: ScenarioIssue[] = [];
  add(path: readonly PathSegment[], code: IssueCode, message: string): void {
    this.items.push({ path: pointer(path), code, message });
  }
  get size(): number {
    return this.items.length;
  }
}

/** Short, safe rendering of an untrusted value for a message (never a row value: only document parts). */
export function show(v: unknown): string {
  try {
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
    if (Array.isArray(v)) return 'a list';
    if (typeof v === 'object') return 'an object';
    return typeof v;
  } catch {
    return 'a value';
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
