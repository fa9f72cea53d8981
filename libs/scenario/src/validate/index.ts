/** Public API of scenario validation (re-exported by the lib's `src/index.ts`). */
export { validateScenario, type ScenarioValidation } from './scenario.js';
export { validateParams, type ParamsOptions, type ParamsValidation } from './params.js';
export { validateBindingSchema } from './binding.js';
export { pointer, type IssueCode, type PathSegment, type ScenarioIssue } from './issues.js';
export {
  asList,
  byRefs,
  columnOf,
  describeMetric,
  findMetric,
  groupKeys,
  metricKind,
  metricRoles,
  whereOf,
  whereRefs,
  type GroupDim,
  type MetricKind,
  type MetricShape,
} from './model.js';
export {
  GROUP_SEPARATOR,
  MAX_GROUPS,
  MAX_WHERE_DEPTH,
  NAME_RE,
  SCENARIO_ID_RE,
  isParamRef,
  paramName,
  parseRef,
  type ParsedRef,
} from './names.js';
