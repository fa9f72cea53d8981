/** Public API: the published JSON Schema of the scenario document (re-exported by `src/index.ts`). */
export { scenarioDocumentSchema, scenarioJsonSchema, whereSchema } from './scenario.schema.js';
