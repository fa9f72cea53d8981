/**
 * The built-in scenario catalog (docs/scenarios.md): 33 documents in the public scenario
 * format, loaded at run time from `scenarios/*.json`, and seeded synthetic data for each role.
 */
export { CATALOG_IDS, isCatalogId, type CatalogId } from './ids.js';
export { CATALOG_DIR, builtinScenario, builtinScenarios } from './load.js';
export { defaultParams, defaultRowCounts, generateRoleRows, generateRoleRowsIter, type GenerateOptions } from './generators.js';
export { CATALOG_EPSILON_BUDGET, catalogPurpose, datasetDocumentFor, type CatalogDatasetDocument, type CatalogPolicy } from './datasets.js';
