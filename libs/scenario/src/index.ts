/** Public API of libs/scenario: the scenario format, its validation, the plan compiler and the reference evaluator. */
export type * from './types.js';
export * from './validate/index.js';
export * from './schema/index.js';
export * from './reference/index.js';
export * from './compiler/index.js';
export { aggregationsByRole } from './usage.js';
export * from './catalog/index.js';
export * from './accuracy.js';
export { boundContributions, sameBounding, unitBounding, unitRowBound, type UnitBounding } from './privacy-unit.js';
