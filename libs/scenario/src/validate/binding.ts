/**
 * `validateBindingSchema`: can a registered dataset be bound to a scenario role?
 * Its columns must include the role's columns with compatible types (docs/scenario-format.md,
 * "Inputs"). Extra dataset columns are fine: the provider selects only the role's columns.
 */
import type { ColumnSpec, Scenario } from '../types.js';
import { isFiniteNumber, isObject, IssueList, show, type ScenarioIssue } from './issues.js';

/**
 * Compatibility per scenario column type:
 * - `number` ← dataset `number` or `integer`; `integer` ← dataset `integer` only (exact
 *   integer arithmetic may be chosen for it);
 * - numeric bounds: values are clamped to the scenario's [min, max]; a dataset range that
 *   does not even overlap it is refused (every value would clamp to a bound);
 * - `category` ← dataset `category` whose values are all among the scenario's (a dataset
 *   value the scenario does not list would have no group; equal lists are the usual case);
 * - `id` ← dataset `id`.
 * Paths point into the dataset document: `/columns/<name>`.
 */
export function validateBindingSchema(scenario: Scenario, role: string, datasetColumns: unknown): ScenarioIssue[] {
  const issues = new IssueList();
  try {
    if (!Object.hasOwn(scenario.inputs, role)) {
      issues.add([], 'unknown_role', `scenario ${show(scenario.id)} has no role ${show(role)}`);
      return issues.items;
    }
    if (!isObject(datasetColumns)) {
      issues.add(['columns'], 'type', `the dataset's columns must be an object, not ${show(datasetColumns)}`);
      return issues.items;
    }
    const wanted: Record<string, ColumnSpec> = scenario.inputs[role].columns;
    for (const [name, want] of Object.entries(wanted)) {
      const p = ['columns', name];
      if (!Object.hasOwn(datasetColumns, name)) {
        issues.add(p, 'unknown_column', `role ${show(role)} needs column ${show(name)} (${want.type}); the dataset has none`);
        continue;
      }
      const got = datasetColumns[name];
      const gotType = isObject(got) ? got.type : undefined;
      if (!isObject(got) || typeof gotType !== 'string') {
        issues.add(p, 'type', `dataset column ${show(name)} has no readable type`);
        continue;
      }
      const accepted = want.type === 'number' ? ['number', 'integer'] : [want.type];
      if (!accepted.includes(gotType)) {
        issues.add(
          [...p, 'type'],
          'type_mismatch',
          `role ${show(role)} needs ${show(name)} as ${want.type === 'number' ? 'number or integer' : want.type}; the dataset's is ${show(gotType)}`,
        );
        continue;
      }
      if (want.type === 'category') {
        const vals = got.values;
        if (!Array.isArray(vals)) {
          issues.add([...p, 'values'], 'type', `dataset category column ${show(name)} has no values list`);
          continue;
        }
        vals.forEach((v: unknown, i) => {
          if (typeof v !== 'string' || !want.values.includes(v)) {
            issues.add(
              [...p, 'values', i],
              'unknown_category_value',
              `dataset value ${show(v)} of ${show(name)} is not among the scenario's values`,
            );
          }
        });
      } else if (want.type === 'number' || want.type === 'integer') {
        const { min, max } = got;
        if (isFiniteNumber(min) && isFiniteNumber(max) && (max < want.min || min > want.max)) {
          issues.add(
            p,
            'bad_value',
            `dataset range [${min}, ${max}] of ${show(name)} does not overlap the scenario's [${want.min}, ${want.max}]: every value would be clamped to a bound`,
          );
        }
      }
    }
  } catch (e) {
    issues.add([], 'internal', `the dataset columns could not be read (${e instanceof Error ? e.name : 'error'})`);
  }
  return issues.items;
}
