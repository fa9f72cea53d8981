/**
 * Loads the built-in scenario documents from `scenarios/<id>.json` at run time. They are plain
 * documents in the public format (docs/scenario-format.md) and go through the same
 * `validateScenario` as any registered document: nothing about them is special-cased.
 */
import { readFileSync } from 'node:fs';
import type { Scenario } from '../types.js';
import { validateScenario } from '../validate/index.js';
import { CATALOG_IDS, checkCatalogId } from './ids.js';
import type { CatalogId } from './ids.js';

/**
 * The JSON files are not copied by tsc: from the compiled `dist/libs/scenario/src/catalog/`,
 * five levels up is the repository root, then the source folder.
 */
export const CATALOG_DIR = new URL('../../../../../libs/scenario/src/catalog/scenarios/', import.meta.url);

let cache: ReadonlyMap<CatalogId, Scenario> | undefined;

function load(): ReadonlyMap<CatalogId, Scenario> {
  if (cache) return cache;
  const out = new Map<CatalogId, Scenario>();
  for (const id of CATALOG_IDS) {
    const file = new URL(`${id}.json`, CATALOG_DIR);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`built-in scenario ${id}: cannot read ${file.pathname}: ${(e as Error).message}`, { cause: e });
    }
    const v = validateScenario(doc);
    if (!v.ok) {
      const first = v.errors
        .slice(0, 5)
        .map((x) => `${x.path || '/'} ${x.code}: ${x.message}`)
        .join('; ');
      throw new Error(`built-in scenario ${id} is invalid (${v.errors.length} problems): ${first}`);
    }
    if (v.scenario.id !== id) throw new Error(`built-in scenario file ${id}.json has id ${JSON.stringify(v.scenario.id)}`);
    // `$schema` (the editor hint pointing at schemas/scenario.schema.json) is not part of the scenario.
    const { $schema, ...scenario }: Scenario & { $schema?: string } = v.scenario;
    void $schema;
    out.set(id, deepFreeze(scenario));
  }
  cache = out;
  return out;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** The shared, frozen document (for the catalog's own generators). */
export function catalogDocument(id: CatalogId): Scenario {
  const s = load().get(id);
  if (!s) throw new RangeError(`catalogDocument: no document for ${id}`);
  return s;
}

/** All 33 built-in documents in catalog order; each call returns fresh copies the caller may change. */
export function builtinScenarios(): Scenario[] {
  return CATALOG_IDS.map((id) => structuredClone(catalogDocument(id)));
}

/** One built-in document (a fresh copy). */
export function builtinScenario(id: string): Scenario {
  return structuredClone(catalogDocument(checkCatalogId('builtinScenario', id)));
}
