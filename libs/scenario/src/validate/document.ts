/**
 * Checks of the document's declarations: top-level fields, `inputs`, `params`, `align`,
 * `release` (docs/scenario-format.md, "Inputs", "Release"). They fill the tables of `Ctx` that
 * the metric checks resolve references against.
 */
import type { ColumnSpec, ParamSpec, ParamType } from '../types.js';
import { isFiniteNumber, IssueList, show } from './issues.js';
import {
  checkBoolean,
  checkFields,
  checkName,
  checkText,
  has,
  isObject,
  isParamRef,
  resolveParam,
  suggest,
  type ColumnTable,
  type Ctx,
  type Path,
} from './context.js';

import {
  GROUP_SEPARATOR,
  MAX_CATEGORY_VALUE_LENGTH,
  MAX_DESCRIPTION_LENGTH,
  MAX_ID_LENGTH,
  MAX_TITLE_LENGTH,
  MAX_UNIT_BOUND,
  SCENARIO_ID_RE,
} from './names.js';

/** Largest magnitude of a column bound (the dataset schema's limit too). */
export const MAX_COLUMN_BOUND = 1e15;
/** Range of a Laplace epsilon (the scenario JSON schema says the same). */
export const MIN_NOISE_EPSILON = 1e-6;
export const MAX_NOISE_EPSILON = 1e6;

export const TOP_FIELDS = ['$schema', 'id', 'title', 'sector', 'description', 'inputs', 'params', 'metrics', 'align', 'release'] as const;
const COLUMN_TYPES = ['number', 'integer', 'category', 'id'] as const;
const PARAM_TYPES: readonly ParamType[] = ['number', 'number-list', 'id-list', 'category'];

export function checkTop(ctx: Ctx, doc: Record<string, unknown>): void {
  checkFields(ctx, doc, TOP_FIELDS, [], 'a scenario');
  if (!has(doc, 'id')) ctx.issues.add([], 'required', 'id is required');
  else if (typeof doc.id !== 'string') ctx.issues.add(['id'], 'type', `id must be a string, not ${show(doc.id)}`);
  else if (doc.id.length > MAX_ID_LENGTH || !SCENARIO_ID_RE.test(doc.id)) {
    ctx.issues.add(
      ['id'],
      'bad_id',
      `id ${show(doc.id)} must be lower-case kebab case (a-z, 0-9, single '-' between words), at most ${MAX_ID_LENGTH} characters`,
    );
  }
  checkText(ctx, doc, 'title', [], MAX_TITLE_LENGTH, true);
  checkText(ctx, doc, 'sector', [], MAX_TITLE_LENGTH);
  checkText(ctx, doc, 'description', [], MAX_DESCRIPTION_LENGTH);
  checkText(ctx, doc, '$schema', [], MAX_DESCRIPTION_LENGTH);
}

/** Category values: a non-empty list of distinct non-empty strings without the group separator. */
export function checkCategoryValues(ctx: Ctx, v: unknown, path: Path): string[] | null {
  if (!Array.isArray(v)) {
    ctx.issues.add(path, 'type', `values must be a list of strings, not ${show(v)}`);
    return null;
  }
  if (v.length === 0) {
    ctx.issues.add(path, 'empty', 'a category needs at least one value');
    return null;
  }
  let ok = true;
  const seen = new Set<string>();
  v.forEach((x: unknown, i) => {
    const p = [...path, i];
    if (typeof x !== 'string') {
      ctx.issues.add(p, 'type', `a category value must be a string, not ${show(x)}`);
      ok = false;
    } else if (x === '') {
      ctx.issues.add(p, 'bad_value', 'a category value must not be empty');
      ok = false;
    } else if (x.length > MAX_CATEGORY_VALUE_LENGTH) {
      ctx.issues.add(p, 'too_long', `a category value is at most ${MAX_CATEGORY_VALUE_LENGTH} characters`);
      ok = false;
    } else if (x.includes(GROUP_SEPARATOR)) {
      ctx.issues.add(p, 'bad_value', `category value ${show(x)} contains '${GROUP_SEPARATOR}', the separator of cross-product group keys`);
      ok = false;
    } else if (seen.has(x)) {
      ctx.issues.add(p, 'duplicate', `category value ${show(x)} is listed twice`);
      ok = false;
    } else seen.add(x);
  });
  return ok ? (v as string[]) : null;
}

function checkColumn(ctx: Ctx, v: unknown, path: Path): ColumnSpec | null {
  if (!isObject(v)) {
    ctx.issues.add(path, 'type', `a column must be an object like {"type": "number", "min": 0, "max": 1}, not ${show(v)}`);
    return null;
  }
  if (!has(v, 'type')) {
    ctx.issues.add(path, 'required', `type is required (one of ${COLUMN_TYPES.join(', ')})`);
    checkFields(ctx, v, ['type', 'min', 'max', 'values', 'description'], path, 'a column');
    return null;
  }
  const type = v.type;
  if (typeof type !== 'string' || !(COLUMN_TYPES as readonly string[]).includes(type)) {
    ctx.issues.add(
      [...path, 'type'],
      'enum',
      `column type ${show(type)} is not one of ${COLUMN_TYPES.join(', ')}${typeof type === 'string' ? suggest(type, COLUMN_TYPES) : ''}`,
    );
    return null;
  }
  checkText(ctx, v, 'description', path, MAX_DESCRIPTION_LENGTH);
  if (type === 'id') {
    checkFields(ctx, v, ['type', 'description'], path, 'an id column');
    return { type: 'id' };
  }
  if (type === 'category') {
    checkFields(ctx, v, ['type', 'values', 'description'], path, 'a category column');
    if (!has(v, 'values')) {
      ctx.issues.add(path, 'required', 'a category column needs its closed list of values');
      return null;
    }
    const values = checkCategoryValues(ctx, v.values, [...path, 'values']);
    return values ? { type: 'category', values } : null;
  }
  checkFields(ctx, v, ['type', 'min', 'max', 'description'], path, `a${type === 'integer' ? 'n integer' : ' number'} column`);
  let ok = true;
  for (const key of ['min', 'max'] as const) {
    if (!has(v, key)) {
      ctx.issues.add(path, 'required', `a ${type} column needs ${key}: values are clamped to [min, max]`);
      ok = false;
    } else if (!isFiniteNumber(v[key])) {
      ctx.issues.add([...path, key], 'type', `${key} must be a finite number, not ${show(v[key])}`);
      ok = false;
    } else if (type === 'integer' && !Number.isSafeInteger(v[key])) {
      ctx.issues.add([...path, key], 'not_integer', `${key} of an integer column must be an integer`);
      ok = false;
    } else if (Math.abs(v[key]) > MAX_COLUMN_BOUND) {
      // beyond it max - min overflows (±1e308 made the range Infinity) and encodings lose precision
      ctx.issues.add([...path, key], 'bad_value', `${key} must be between -${MAX_COLUMN_BOUND} and ${MAX_COLUMN_BOUND}`);
      ok = false;
    }
  }
  if (!ok) return null;
  const min = v.min as number;
  const max = v.max as number;
  if (min > max) {
    ctx.issues.add([...path, 'min'], 'min_gt_max', `min ${min} is greater than max ${max}`);
    return null;
  }
  return { type: type as 'number' | 'integer', min, max };
}

export function checkInputs(ctx: Ctx, doc: Record<string, unknown>): void {
  if (!has(doc, 'inputs')) {
    ctx.issues.add([], 'required', 'inputs is required: it maps each role to the columns the scenario needs');
    return;
  }
  const inputs = doc.inputs;
  if (!isObject(inputs)) {
    ctx.issues.add(['inputs'], 'type', `inputs must be an object mapping roles to {"columns": {...}}, not ${show(inputs)}`);
    return;
  }
  if (Object.keys(inputs).length === 0) ctx.issues.add(['inputs'], 'empty', 'inputs needs at least one role');
  for (const role of Object.keys(inputs)) {
    const rp = ['inputs', role];
    if (!checkName(ctx, role, rp, 'role')) continue;
    const spec = inputs[role];
    if (!isObject(spec)) {
      ctx.issues.add(rp, 'type', `a role must be an object like {"columns": {...}}, not ${show(spec)}`);
      ctx.roles.set(role, null);
      continue;
    }
    checkFields(ctx, spec, ['columns', 'description'], rp, 'a role');
    checkText(ctx, spec, 'description', rp, MAX_DESCRIPTION_LENGTH);
    if (!has(spec, 'columns')) {
      ctx.issues.add(rp, 'required', 'columns is required');
      ctx.roles.set(role, null);
      continue;
    }
    const cols = spec.columns;
    if (!isObject(cols)) {
      ctx.issues.add([...rp, 'columns'], 'type', `columns must be an object mapping names to column specs, not ${show(cols)}`);
      ctx.roles.set(role, null);
      continue;
    }
    if (Object.keys(cols).length === 0) ctx.issues.add([...rp, 'columns'], 'empty', 'a role needs at least one column');
    const table: ColumnTable = new Map();
    for (const col of Object.keys(cols)) {
      const cp = [...rp, 'columns', col];
      if (!checkName(ctx, col, cp, 'column')) continue;
      table.set(col, checkColumn(ctx, cols[col], cp));
    }
    ctx.roles.set(role, table);
  }
}

function checkParamValue(issues: IssueList, type: ParamType, values: string[] | null, v: unknown, path: Path): void {
  const ctx = { issues };
  const listOf = (pred: (x: unknown) => boolean, what: string, unique: boolean) => {
    if (!Array.isArray(v)) return ctx.issues.add(path, 'type', `a ${type} value must be a list of ${what}, not ${show(v)}`);
    if (v.length === 0) return ctx.issues.add(path, 'empty', `a ${type} value needs at least one entry`);
    const seen = new Set<unknown>();
    v.forEach((x: unknown, i) => {
      if (!pred(x)) ctx.issues.add([...path, i], 'type', `expected ${what}, not ${show(x)}`);
      else if (unique && seen.has(x)) ctx.issues.add([...path, i], 'duplicate', `${show(x)} is listed twice`);
      seen.add(x);
    });
  };
  switch (type) {
    case 'number':
      if (!isFiniteNumber(v)) ctx.issues.add(path, 'type', `a number parameter needs a finite number, not ${show(v)}`);
      return;
    case 'number-list':
      return listOf(isFiniteNumber, 'finite numbers', false);
    case 'id-list':
      return listOf((x) => typeof x === 'string' && x !== '' && x.length <= 256, 'non-empty strings of at most 256 characters', true);
    case 'category':
      if (typeof v !== 'string') ctx.issues.add(path, 'type', `a category parameter needs a string, not ${show(v)}`);
      else if (values && !values.includes(v))
        ctx.issues.add(path, 'unknown_category_value', `${show(v)} is not one of the parameter's values`);
      return;
  }
}

export function checkParams(ctx: Ctx, doc: Record<string, unknown>): void {
  if (!has(doc, 'params')) return;
  const params = doc.params;
  if (!isObject(params)) {
    ctx.issues.add(['params'], 'type', `params must be an object mapping names to {"type": ...}, not ${show(params)}`);
    return;
  }
  for (const name of Object.keys(params)) {
    const pp = ['params', name];
    if (!checkName(ctx, name, pp, 'parameter')) continue;
    const spec = params[name];
    if (!isObject(spec)) {
      ctx.issues.add(pp, 'type', `a parameter must be an object like {"type": "number"}, not ${show(spec)}`);
      ctx.params.set(name, null);
      continue;
    }
    checkFields(ctx, spec, ['type', 'private', 'values', 'description', 'default'], pp, 'a parameter');
    checkText(ctx, spec, 'description', pp, MAX_DESCRIPTION_LENGTH);
    checkBoolean(ctx, spec, 'private', pp);
    const type = spec.type;
    if (!has(spec, 'type')) {
      ctx.issues.add(pp, 'required', `type is required (one of ${PARAM_TYPES.join(', ')})`);
      ctx.params.set(name, null);
      continue;
    }
    if (typeof type !== 'string' || !(PARAM_TYPES as readonly string[]).includes(type)) {
      ctx.issues.add(
        [...pp, 'type'],
        'enum',
        `parameter type ${show(type)} is not one of ${PARAM_TYPES.join(', ')}${typeof type === 'string' ? suggest(type, PARAM_TYPES) : ''}`,
      );
      ctx.params.set(name, null);
      continue;
    }
    const ptype = type as ParamType;
    let ok = true;
    const isPrivate = spec.private === true;
    if (isPrivate && ptype !== 'number' && ptype !== 'number-list') {
      ctx.issues.add(
        [...pp, 'private'],
        'private_param_type',
        `only number and number-list parameters can be private (encrypted under the consumer's key), not ${ptype}`,
      );
      ok = false;
    }
    let values: string[] | null = null;
    if (has(spec, 'values')) {
      if (ptype !== 'category') {
        ctx.issues.add([...pp, 'values'], 'unknown_field', `values is only for category parameters, not ${ptype}`);
        ok = false;
      } else {
        values = checkCategoryValues(ctx, spec.values, [...pp, 'values']);
        if (!values) ok = false;
      }
    }
    if (has(spec, 'default')) {
      if (isPrivate) {
        ctx.issues.add([...pp, 'default'], 'bad_value', 'a private parameter cannot have a default: the document is public');
        ok = false;
      } else {
        const before = ctx.issues.size;
        checkParamValue(ctx.issues, ptype, values, spec.default, [...pp, 'default']);
        if (ctx.issues.size > before) ok = false;
      }
    }
    const out: ParamSpec = { type: ptype };
    if (isPrivate) out.private = true;
    if (values) out.values = values;
    ctx.params.set(name, ok ? out : null);
  }
}

export function checkAlign(ctx: Ctx, doc: Record<string, unknown>): void {
  if (!has(doc, 'align')) return;
  const align = doc.align;
  ctx.align = new Map();
  if (!isObject(align)) {
    ctx.issues.add(['align'], 'type', `align must be an object like {"on": {"roleA": "id_col", "roleB": "id_col"}}, not ${show(align)}`);
    return;
  }
  checkFields(ctx, align, ['on', 'keys'], ['align'], 'align');
  let entries = 0;
  if (!has(align, 'on')) ctx.issues.add(['align'], 'required', 'align.on is required: role → id column');
  else if (!isObject(align.on))
    ctx.issues.add(['align', 'on'], 'type', `align.on must be an object mapping roles to id columns, not ${show(align.on)}`);
  else {
    const on = align.on;
    entries = Object.keys(on).length;
    if (entries === 0) ctx.issues.add(['align', 'on'], 'empty', 'align.on needs at least one role');
    for (const role of Object.keys(on)) {
      const p = ['align', 'on', role];
      if (!ctx.roles.has(role)) {
        ctx.issues.add(p, 'unknown_role', `align names role ${show(role)}, which is not in inputs${suggest(role, ctx.roles.keys())}`);
        continue;
      }
      const col = on[role];
      ctx.align.set(role, typeof col === 'string' ? col : '');
      if (typeof col !== 'string') {
        ctx.issues.add(p, 'type', `expected the name of an id column of ${show(role)}, not ${show(col)}`);
        continue;
      }
      const table = ctx.roles.get(role);
      if (!table) continue;
      if (!table.has(col)) {
        ctx.issues.add(p, 'unknown_column', `role ${show(role)} has no column ${show(col)}${suggest(col, table.keys())}`);
        continue;
      }
      const spec = table.get(col);
      if (spec && spec.type !== 'id')
        ctx.issues.add(p, 'not_id', `${role}.${col} is a ${spec.type} column; align matches rows on id columns`);
    }
  }
  if (has(align, 'keys')) {
    const keys = align.keys;
    const p = ['align', 'keys'];
    if (!isParamRef(keys))
      ctx.issues.add(p, 'type', `align.keys must be a "$params.name" reference to an id-list parameter, not ${show(keys)}`);
    else {
      const prm = resolveParam(ctx, keys, p);
      if (prm?.spec && prm.spec.type !== 'id-list')
        ctx.issues.add(p, 'param_type', `align.keys must name an id-list parameter; ${show(prm.name)} is ${prm.spec.type}`);
    }
  } else if (isObject(align.on) && entries === 1) {
    ctx.issues.add(
      ['align', 'on'],
      'align_too_few',
      "align without keys matches rows on the intersection of the roles' ids: it needs at least two roles",
    );
  }
}

export function checkRelease(ctx: Ctx, doc: Record<string, unknown>): void {
  if (!has(doc, 'release')) return;
  const r = doc.release;
  if (!isObject(r)) {
    ctx.issues.add(['release'], 'type', `release must be an object, not ${show(r)}`);
    return;
  }
  checkFields(ctx, r, ['minGroupSize', 'noise', 'rowLevel', 'privacyUnit'], ['release'], 'release');
  if (has(r, 'privacyUnit')) checkPrivacyUnit(ctx, r.privacyUnit);
  checkBoolean(ctx, r, 'rowLevel', ['release']);
  ctx.rowLevel = r.rowLevel === true;
  if (has(r, 'minGroupSize')) {
    const m = r.minGroupSize;
    const p = ['release', 'minGroupSize'];
    if (!isFiniteNumber(m)) ctx.issues.add(p, 'type', `minGroupSize must be a number, not ${show(m)}`);
    else if (!Number.isSafeInteger(m)) ctx.issues.add(p, 'not_integer', 'minGroupSize must be an integer');
    else if (m < 1) ctx.issues.add(p, 'bad_value', 'minGroupSize must be at least 1 (leave it out for no suppression)');
  }
  if (has(r, 'noise')) {
    const n = r.noise;
    const p = ['release', 'noise'];
    if (!isObject(n)) {
      ctx.issues.add(p, 'type', `noise must be an object like {"mechanism": "laplace", "epsilon": 1}, not ${show(n)}`);
      return;
    }
    checkFields(ctx, n, ['mechanism', 'epsilon'], p, 'noise');
    if (!has(n, 'mechanism')) ctx.issues.add(p, 'required', 'noise.mechanism is required ("laplace")');
    else if (n.mechanism !== 'laplace')
      ctx.issues.add([...p, 'mechanism'], 'enum', `noise mechanism ${show(n.mechanism)} is not supported; use "laplace"`);
    if (!has(n, 'epsilon')) ctx.issues.add(p, 'required', 'noise.epsilon is required');
    else if (!isFiniteNumber(n.epsilon))
      ctx.issues.add([...p, 'epsilon'], 'type', `epsilon must be a finite number, not ${show(n.epsilon)}`);
    else if (n.epsilon <= 0) ctx.issues.add([...p, 'epsilon'], 'bad_value', 'epsilon must be greater than 0');
    else if (n.epsilon < MIN_NOISE_EPSILON || n.epsilon > MAX_NOISE_EPSILON) {
      // 1e-320 (subnormal) makes the Laplace scale Infinity
      ctx.issues.add([...p, 'epsilon'], 'bad_value', `epsilon must be between ${MIN_NOISE_EPSILON} and ${MAX_NOISE_EPSILON}`);
    }
  }
}

/**
 * `release.privacyUnit`: `on` maps every role of `inputs` to one of its id columns (an aligned role to its
 * `align.on` column: its rows are already one per key), and both bounds are whole numbers in [1, MAX_UNIT_BOUND].
 */
function checkPrivacyUnit(ctx: Ctx, u: unknown): void {
  const p = ['release', 'privacyUnit'];
  if (!isObject(u)) {
    ctx.issues.add(
      p,
      'type',
      `privacyUnit must be an object like {"on": {"role": "person_id"}, "maxGroups": 1, "maxRowsPerGroup": 1}, not ${show(u)}`,
    );
    return;
  }
  checkFields(ctx, u, ['on', 'maxGroups', 'maxRowsPerGroup'], p, 'privacyUnit');
  for (const field of ['maxGroups', 'maxRowsPerGroup'] as const) {
    if (!has(u, field)) {
      ctx.issues.add(p, 'required', `privacyUnit.${field} is required`);
      continue;
    }
    const v = u[field];
    const fp = [...p, field];
    if (!isFiniteNumber(v)) ctx.issues.add(fp, 'type', `${field} must be a whole number, not ${show(v)}`);
    else if (!Number.isSafeInteger(v)) ctx.issues.add(fp, 'not_integer', `${field} must be a whole number`);
    else if (v < 1 || v > MAX_UNIT_BOUND) ctx.issues.add(fp, 'bad_value', `${field} must be between 1 and ${MAX_UNIT_BOUND}`);
  }
  if (!has(u, 'on')) {
    ctx.issues.add(p, 'required', 'privacyUnit.on is required: role → the id column holding the unit');
    return;
  }
  const on = u.on;
  const op = [...p, 'on'];
  if (!isObject(on)) {
    ctx.issues.add(op, 'type', `privacyUnit.on must be an object mapping roles to id columns, not ${show(on)}`);
    return;
  }
  for (const role of Object.keys(on)) {
    const rp = [...op, role];
    if (!ctx.roles.has(role)) {
      ctx.issues.add(rp, 'unknown_role', `privacyUnit names role ${show(role)}, which is not in inputs${suggest(role, ctx.roles.keys())}`);
      continue;
    }
    const col = on[role];
    if (typeof col !== 'string') {
      ctx.issues.add(rp, 'type', `expected the name of an id column of ${show(role)}, not ${show(col)}`);
      continue;
    }
    const table = ctx.roles.get(role);
    if (!table) continue;
    if (!table.has(col)) {
      ctx.issues.add(rp, 'unknown_column', `role ${show(role)} has no column ${show(col)}${suggest(col, table.keys())}`);
      continue;
    }
    const spec = table.get(col);
    if (spec && spec.type !== 'id') {
      ctx.issues.add(rp, 'not_id', `${role}.${col} is a ${spec.type} column; a privacy unit is an id column`);
      continue;
    }
    const aligned = ctx.align?.get(role);
    if (aligned !== undefined && aligned !== col)
      ctx.issues.add(
        rp,
        'unit_align',
        `role ${show(role)} is aligned on ${show(aligned)}: its rows are one per aligned key, so its privacy unit must be that column`,
      );
  }
  for (const role of ctx.roles.keys())
    if (!Object.hasOwn(on, role))
      ctx.issues.add(
        op,
        'unit_role',
        `privacyUnit.on must name the unit column of every role: role ${show(role)} is missing (a unit's rows in it would be unbounded)`,
      );
}

export { checkParamValue };
