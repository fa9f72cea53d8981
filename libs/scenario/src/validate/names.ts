/**
 * Lexical rules of the scenario format (docs/scenario-format.md): ids, names, `role.column`
 * references and `$params.name` references. Limits are part of the published contract.
 */

/** Scenario ids: lower-case kebab case, as in the catalog (`water-district-consumption`). */
export const SCENARIO_ID_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_ID_LENGTH = 64;

/**
 * Role, column, parameter and metric names: an identifier (letters, digits, `_`, `-`),
 * no `.` (it separates role and column in a ref). Names that would collide with
 * `Object.prototype` members are refused so results can be plain JSON objects.
 */
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const MAX_NAME_LENGTH = 64;
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const MAX_TITLE_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 4000;
export const MAX_CATEGORY_VALUE_LENGTH = 200;
/** A `by` cross product may not have more groups than this (the reference enumerates them all). */
export const MAX_GROUPS = 65536;
/** Largest `release.privacyUnit.maxGroups` / `maxRowsPerGroup`: a unit bound above it is no bound worth noising for. */
export const MAX_UNIT_BOUND = 1_000_000;
/**
 * Cost bounds checked at validation, before anything is compiled: the number of metrics, and the values a job
 * releases (each metric's groups, times its bins for a histogram, summed). A 3,000-metric scenario over 4,096
 * groups compiled for 7 s into a 177 MB plan; these keep every accepted scenario's plan small.
 */
export const MAX_METRICS = 256;
export const MAX_OUTPUT_VALUES = 65536;
/** Deepest `where` nesting accepted (guards the recursive checks against hostile input). */
export const MAX_WHERE_DEPTH = 32;
/** The separator of cross-product group keys (`"shinan|7"`); category values may not contain it. */
export const GROUP_SEPARATOR = '|';

export const PARAM_PREFIX = '$params.';

export function isName(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && NAME_RE.test(s) && !RESERVED_NAMES.has(s);
}

export interface ParsedRef {
  role: string;
  column: string;
}

/** `role.column` → parts, or undefined when it is not exactly two names joined by one dot. */
export function parseRef(s: string): ParsedRef | undefined {
  const dot = s.indexOf('.');
  if (dot < 0 || dot !== s.lastIndexOf('.')) return undefined;
  const role = s.slice(0, dot);
  const column = s.slice(dot + 1);
  return isName(role) && isName(column) ? { role, column } : undefined;
}

/** True for any string written as a parameter reference (it is never a literal). */
export function isParamRef(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(PARAM_PREFIX);
}

/** The parameter name of `$params.name` (may be an invalid name; callers check). */
export function paramName(s: string): string {
  return s.slice(PARAM_PREFIX.length);
}
