/**
 * Checks of `where` and `by` (docs/scenario-format.md, "Metrics"): operators, ref scoping
 * (own role, same-named column of every role of a multi-role metric, or an aligned role),
 * literal types against the column, category values, parameter types.
 */
import type { CategoryColumn, ColumnSpec } from '../types.js';
import { isFiniteNumber, show } from './issues.js';
import {
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
import { MAX_GROUPS, MAX_WHERE_DEPTH } from './names.js';
import type { MetricKind } from './model.js';

export interface Scope {
  /** Roles the metric reads directly. */
  roles: string[];
  kind: MetricKind;
}

const COMPARISONS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
const OPERATORS = [...COMPARISONS, 'in', 'and', 'or', 'not'] as const;

function sameColumn(a: ColumnSpec, b: ColumnSpec): boolean {
  if (a.type === 'category' || b.type === 'category') {
    return a.type === 'category' && b.type === 'category' && JSON.stringify(a.values) === JSON.stringify(b.values);
  }
  return a.type === b.type || (isNumeric(a) && isNumeric(b));
}

/**
 * Where a ref in a metric's `where`/`by` may point (see `MetricKind`): a listed role of a
 * stacked metric (then every listed role needs the same-named, same-typed column), or any
 * role covered by `align` (read at the same aligned key).
 */
export function checkScope(ctx: Ctx, ref: ResolvedRef, path: Path, scope: Scope): void {
  if (scope.kind === 'stacked' && scope.roles.includes(ref.role)) {
    if (!ref.spec) return;
    for (const q of scope.roles) {
      if (q === ref.role) continue;
      const table = ctx.roles.get(q);
      if (!table) continue;
      const other = table.get(ref.column);
      if (other === undefined) {
        ctx.issues.add(
          path,
          'column_mismatch',
          `${ref.ref} is read from every role of this metric, but role ${show(q)} has no column ${show(ref.column)}`,
        );
      } else if (other !== null && !sameColumn(ref.spec, other)) {
        ctx.issues.add(
          path,
          'column_mismatch',
          `${q}.${ref.column} differs from ${ref.ref} (a metric over several roles needs the same type${ref.spec.type === 'category' ? ' and the same category values, in the same order' : ''})`,
        );
      }
    }
    return;
  }
  if (!ctx.align) {
    ctx.issues.add(
      path,
      'not_aligned',
      `${ref.ref} is in role ${show(ref.role)}, which this metric does not read (${scope.roles.join(', ')}): naming another role's column needs align covering both roles`,
    );
  } else if (!ctx.align.has(ref.role)) {
    ctx.issues.add(
      path,
      'not_aligned',
      `${ref.ref}: role ${show(ref.role)} is not in align.on, so its rows cannot be matched to this metric's rows`,
    );
  }
}

/** A literal compared with a column (or one entry of an `in` list). */
function checkLiteral(ctx: Ctx, spec: ColumnSpec | null, lit: unknown, path: Path, ref: string): void {
  if (isParamRef(lit)) {
    const p = resolveParam(ctx, lit, path);
    if (!p || !p.spec || !spec || spec.type === 'id') return;
    if (p.spec.private) {
      ctx.issues.add(
        path,
        'private_param_use',
        `${show(lit)} is private (encrypted under the consumer's key): a provider cannot filter rows with it`,
      );
    }
    if (isNumeric(spec) && p.spec.type !== 'number') {
      ctx.issues.add(path, 'param_type', `${ref} is a ${spec.type} column: ${show(lit)} must be a number parameter, not ${p.spec.type}`);
    } else if (spec.type === 'category') {
      if (p.spec.type !== 'category')
        ctx.issues.add(path, 'param_type', `${ref} is a category column: ${show(lit)} must be a category parameter, not ${p.spec.type}`);
      else
        for (const v of p.spec.values ?? []) {
          if (!spec.values.includes(v))
            ctx.issues.add(path, 'unknown_category_value', `parameter value ${show(v)} of ${show(lit)} is not a value of ${ref}`);
        }
    }
    return;
  }
  if (typeof lit === 'number' ? !Number.isFinite(lit) : typeof lit !== 'string') {
    ctx.issues.add(path, 'type', `a literal must be a finite number, a string or a "$params.name" reference, not ${show(lit)}`);
    return;
  }
  if (!spec || spec.type === 'id') return;
  if (isNumeric(spec)) {
    if (typeof lit !== 'number')
      ctx.issues.add(path, 'type_mismatch', `${ref} is a ${spec.type} column: compare it with a number, not the string ${show(lit)}`);
  } else if (typeof lit !== 'string') {
    ctx.issues.add(path, 'type_mismatch', `${ref} is a category column: compare it with one of its values, not the number ${lit}`);
  } else if (!spec.values.includes(lit)) {
    ctx.issues.add(path, 'unknown_category_value', `${show(lit)} is not a value of ${ref}${suggest(lit, spec.values)}`);
  }
}

/** `[ref, x]` of an operator: resolves the ref, checks its scope and that the column can be filtered. */
function checkOperand(ctx: Ctx, v: unknown, path: Path, scope: Scope, op: string): { ref?: ResolvedRef; second: unknown } | undefined {
  if (!Array.isArray(v)) {
    ctx.issues.add(path, 'type', `${op} takes a list [ref, ${op === 'in' ? '[values]' : 'literal'}], not ${show(v)}`);
    return undefined;
  }
  if (v.length !== 2) {
    ctx.issues.add(path, 'arity', `${op} takes exactly two entries [ref, ${op === 'in' ? '[values]' : 'literal'}], not ${v.length}`);
    return undefined;
  }
  const ref = resolveRef(ctx, v[0], [...path, 0]);
  if (ref) checkScope(ctx, ref, [...path, 0], scope);
  if (ref?.spec?.type === 'id') {
    ctx.issues.add([...path, 0], 'type_mismatch', `${ref.ref} is an id column: ids are join keys (align), they cannot be filtered on`);
    return { second: v[1] };
  }
  return { ref, second: v[1] };
}

export function checkWhere(ctx: Ctx, v: unknown, path: Path, scope: Scope, depth = 0): void {
  if (depth > MAX_WHERE_DEPTH) {
    ctx.issues.add(path, 'too_deep', `where expressions may nest at most ${MAX_WHERE_DEPTH} levels`);
    return;
  }
  if (!isObject(v)) {
    ctx.issues.add(path, 'type', `a where expression must be an object like {"eq": ["role.column", value]}, not ${show(v)}`);
    return;
  }
  const keys = Object.keys(v);
  if (keys.length !== 1) {
    ctx.issues.add(
      path,
      'bad_where',
      keys.length === 0
        ? `a where node needs one operator (${OPERATORS.join(', ')})`
        : `a where node has exactly one operator, not ${keys.length}: combine conditions with {"and": [...]}`,
    );
  }
  for (const op of keys) {
    const p = [...path, op];
    const arg = v[op];
    if (!(OPERATORS as readonly string[]).includes(op)) {
      ctx.issues.add(p, 'unknown_field', `unknown where operator ${show(op)}${suggest(op, OPERATORS)}`);
      continue;
    }
    if (op === 'and' || op === 'or') {
      if (!Array.isArray(arg)) ctx.issues.add(p, 'type', `${op} takes a list of where expressions, not ${show(arg)}`);
      else if (arg.length === 0) ctx.issues.add(p, 'empty', `${op} needs at least one expression`);
      else arg.forEach((e: unknown, i) => checkWhere(ctx, e, [...p, i], scope, depth + 1));
      continue;
    }
    if (op === 'not') {
      checkWhere(ctx, arg, p, scope, depth + 1);
      continue;
    }
    const operand = checkOperand(ctx, arg, p, scope, op);
    if (!operand) continue;
    const { ref, second } = operand;
    const spec = ref?.spec ?? null;
    const refName = ref?.ref ?? 'the column';
    if (op === 'in') {
      checkInList(ctx, spec, second, [...p, 1], refName);
      continue;
    }
    if (spec?.type === 'category' && op !== 'eq' && op !== 'ne') {
      ctx.issues.add(p, 'type_mismatch', `${refName} is a category column: categories are unordered, use eq, ne or in instead of ${op}`);
    }
    if (spec?.type !== 'id') checkLiteral(ctx, spec, second, [...p, 1], refName);
  }
}

function checkInList(ctx: Ctx, spec: ColumnSpec | null, v: unknown, path: Path, ref: string): void {
  if (isParamRef(v)) {
    const p = resolveParam(ctx, v, path);
    if (!p?.spec || !spec) return;
    if (spec.type === 'category') {
      ctx.issues.add(
        path,
        'param_type',
        `${ref} is a category column: list its values in the document (there is no category-list parameter)`,
      );
    } else if (spec.type !== 'id') {
      if (p.spec.type !== 'number-list')
        ctx.issues.add(path, 'param_type', `${show(v)} must be a number-list parameter, not ${p.spec.type}`);
      if (p.spec.private) ctx.issues.add(path, 'private_param_use', `${show(v)} is private: a provider cannot filter rows with it`);
    }
    return;
  }
  if (!Array.isArray(v)) {
    ctx.issues.add(path, 'type', `in takes a list of literals or a "$params.name" number-list, not ${show(v)}`);
    return;
  }
  if (v.length === 0) {
    ctx.issues.add(path, 'empty', 'in needs at least one value');
    return;
  }
  v.forEach((lit: unknown, i) => {
    if (isParamRef(lit))
      ctx.issues.add([...path, i], 'type', 'an in list holds literals; to pass a list use "$params.name" in place of the whole list');
    else checkLiteral(ctx, spec, lit, [...path, i], ref);
  });
}

/** Checks `by`; returns its category lists (the metric's grouping) or null when not all are known. */
export function checkBy(ctx: Ctx, metric: Record<string, unknown>, path: Path, scope: Scope): string[][] | null {
  if (!has(metric, 'by')) return [];
  const by = metric.by;
  const p = [...path, 'by'];
  let items: [unknown, Path][];
  if (typeof by === 'string') items = [[by, p]];
  else if (Array.isArray(by)) {
    if (by.length === 0) {
      ctx.issues.add(p, 'empty', 'by needs at least one category ref (or leave it out)');
      return null;
    }
    items = by.map((x: unknown, i) => [x, [...p, i]]);
  } else {
    ctx.issues.add(p, 'type', `by must be a "role.column" category ref or a list of them, not ${show(by)}`);
    return null;
  }
  const sig: string[][] = [];
  let ok = true;
  const seen = new Set<string>();
  for (const [x, xp] of items) {
    const ref = resolveRef(ctx, x, xp);
    if (!ref) {
      ok = false;
      continue;
    }
    if (seen.has(ref.ref)) {
      ctx.issues.add(xp, 'duplicate', `${ref.ref} appears twice in by`);
      ok = false;
    }
    seen.add(ref.ref);
    checkScope(ctx, ref, xp, scope);
    if (!ref.spec) ok = false;
    else if (ref.spec.type !== 'category') {
      ctx.issues.add(
        xp,
        'not_category',
        `by needs category columns; ${ref.ref} is ${ref.spec.type === 'id' ? 'an id' : `a ${ref.spec.type}`} column`,
      );
      ok = false;
    } else sig.push((ref.spec as CategoryColumn).values);
  }
  if (!ok) return null;
  const groups = sig.reduce((n, v) => n * v.length, 1);
  if (groups > MAX_GROUPS) {
    ctx.issues.add(p, 'too_many_groups', `by makes ${groups} groups; at most ${MAX_GROUPS} are allowed`);
    return null;
  }
  return sig;
}

export { isFiniteNumber };
