/**
 * `validateParams`: the consumer's parameter values at submission, checked against the
 * scenario's `params` and against how the scenario uses them (docs/scenario-format.md,
 * "Inputs"): types, category values, and the list lengths the scenario implies.
 */
import type { CategoryColumn, Metric, ParamValues, Scenario, WhereExpr } from '../types.js';
import { isObject, IssueList, show, type ScenarioIssue } from './issues.js';
import { checkParamValue } from './document.js';
import { suggest } from './context.js';
import { columnOf, describeMetric, whereOf } from './model.js';
import { isParamRef, paramName } from './names.js';

export interface ParamsOptions {
  /**
   * `plain` (default): private parameters are given as plaintext numbers (the consumer's own
   * check before encrypting, the reference evaluator). `encrypted`: they are given as opaque
   * non-empty strings (ciphertext ids at the broker), which is all that is checked.
   */
  privateValues?: 'plain' | 'encrypted';
}

export type ParamsValidation = { ok: true; values: ParamValues } | { ok: false; errors: ScenarioIssue[] };

interface Use {
  /** Expected list length, or category values the value must belong to. */
  length?: number;
  categories?: readonly string[];
  what: string;
}

function walkWhere(e: WhereExpr, visit: (ref: string, lit: unknown) => void): void {
  if ('and' in e) e.and.forEach((x) => walkWhere(x, visit));
  else if ('or' in e) e.or.forEach((x) => walkWhere(x, visit));
  else if ('not' in e) walkWhere(e.not, visit);
  else {
    const [ref, lit] = Object.values(e)[0] as [string, unknown];
    visit(ref, lit);
  }
}

/** How each parameter is used: implied lengths and category lists. */
function usesOf(s: Scenario): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  const add = (ref: unknown, use: Use) => {
    if (!isParamRef(ref)) return;
    const name = paramName(ref);
    uses.set(name, [...(uses.get(name) ?? []), use]);
  };
  s.metrics.forEach((m: Metric) => {
    if (m.agg === 'weightedSum') add(m.weights, { length: m.of.length, what: `the weights of ${m.name} (one per ref of of)` });
    if (m.agg === 'dot') {
      const groups = describeMetric(s, m.of[0]).groups.length;
      add(m.of[1], { length: groups, what: `dot ${m.name} (one value per group of ${m.of[0]}, in group order)` });
    }
    const w = whereOf(m);
    if (w)
      walkWhere(w, (ref, lit) => {
        const col = columnOf(s, ref);
        if (col?.type === 'category') add(lit, { categories: (col as CategoryColumn).values, what: `the where of ${m.name} (${ref})` });
      });
  });
  return uses;
}

/** Checks `values` against `scenario.params`; on success returns them with defaults filled in. */
export function validateParams(scenario: Scenario, values: unknown, opts: ParamsOptions = {}): ParamsValidation {
  try {
    const issues = new IssueList();
    const specs = scenario.params ?? {};
    const given = values === undefined || values === null ? {} : values;
    if (!isObject(given))
      return {
        ok: false,
        errors: [{ path: '', code: 'type', message: `parameter values must be an object mapping names to values, not ${show(given)}` }],
      };
    for (const k of Object.keys(given)) {
      if (!Object.hasOwn(specs, k))
        issues.add([k], 'unknown_param', `the scenario declares no parameter ${show(k)}${suggest(k, Object.keys(specs))}`);
    }
    const uses = usesOf(scenario);
    const out: ParamValues = {};
    for (const [name, spec] of Object.entries(specs)) {
      const has = Object.hasOwn(given, name);
      if (!has && spec.default === undefined) {
        issues.add([name], 'required', `parameter ${show(name)} (${spec.type}) is required`);
        continue;
      }
      const v = has ? given[name] : spec.default;
      if (spec.private && opts.privateValues === 'encrypted') {
        if (typeof v !== 'string' || v === '')
          issues.add([name], 'type', `private parameter ${show(name)} must be given as the id of its ciphertext`);
        else out[name] = v;
        continue;
      }
      const before = issues.size;
      checkParamValue(issues, spec.type, spec.values ?? null, v, [name]);
      if (issues.size > before) continue;
      for (const use of uses.get(name) ?? []) {
        if (use.length !== undefined && Array.isArray(v) && v.length !== use.length) {
          issues.add([name], 'length_mismatch', `${v.length} values given; ${use.what} needs ${use.length}`);
        }
        if (use.categories && typeof v === 'string' && !use.categories.includes(v)) {
          issues.add([name], 'unknown_category_value', `${show(v)} is not a value of the column compared in ${use.what}`);
        }
      }
      out[name] = JSON.parse(JSON.stringify(v)) as ParamValues[string];
    }
    return issues.size > 0 ? { ok: false, errors: issues.items } : { ok: true, values: out };
  } catch (e) {
    const kind = e instanceof Error ? e.name : 'error';
    return { ok: false, errors: [{ path: '', code: 'internal', message: `the parameter values could not be read as JSON (${kind})` }] };
  }
}
