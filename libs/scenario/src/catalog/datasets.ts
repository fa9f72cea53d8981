/**
 * What a provider registers to take part in a built-in scenario: a dataset document
 * (docs/datasets-and-policies.md) whose columns are the role's inputs and whose
 * usage policy allows exactly what the scenario asks, and the purpose a consumer states.
 */
import type { Agg, ColumnSpec } from '../types.js';
import { checkCatalogId } from './ids.js';
import type { CatalogId } from './ids.js';
import { catalogDocument } from './load.js';

/** The policy part of a dataset document (same fields as `#policy`'s `UsagePolicy`). */
export interface CatalogPolicy {
  consumers: string[];
  purposes: string[];
  aggregations: Agg[];
  rowLevel: boolean;
  minGroupSize: number;
  epsilonBudget: number | null;
  expiresAt: string | null;
}

export interface CatalogDatasetDocument {
  name: string;
  description: string;
  columns: Record<string, ColumnSpec>;
  policy: CatalogPolicy;
}

/**
 * Row-level outputs are released only with the data subjects' consent, or to the supervisor
 * that may by law look at single invoices; every aggregate scenario is a public service.
 */
const PURPOSES: Partial<Record<CatalogId, string>> = {
  'sme-credit-score': 'consent-credit',
  'invoice-double-financing': 'financial-supervision',
  'crop-yield-estimate': 'consent-insurance',
};

/** The purpose a job of this built-in scenario states (and the catalog datasets allow). */
export function catalogPurpose(scenarioId: string): string {
  return PURPOSES[checkCatalogId('catalogPurpose', scenarioId)] ?? 'public-service';
}

/** Privacy budget (total Laplace epsilon per consumer) of every catalog dataset. */
export const CATALOG_EPSILON_BUDGET = 10;

/**
 * The dataset document for one role: its columns exactly as the scenario's input; a policy open
 * to any consumer for the scenario's purpose, the scenario's aggregations, row-level outputs only
 * where the scenario releases them, and the scenario's minimum group size.
 */
export function datasetDocumentFor(scenarioId: string, role: string): CatalogDatasetDocument {
  const id = checkCatalogId('datasetDocumentFor', scenarioId);
  const s = catalogDocument(id);
  if (!Object.hasOwn(s.inputs, role)) {
    throw new RangeError(
      `datasetDocumentFor: scenario ${id} has no role ${JSON.stringify(role)} (roles: ${Object.keys(s.inputs).join(', ')})`,
    );
  }
  const input = s.inputs[role];
  const aggregations = [...new Set(s.metrics.map((m) => m.agg))];
  return {
    name: `${s.title}: ${role}`,
    description: `${input.description ?? role} Synthetic rows from the seeded catalog generator for scenario ${id}.`,
    columns: structuredClone(input.columns) as Record<string, ColumnSpec>,
    policy: {
      consumers: ['*'],
      purposes: [catalogPurpose(id)],
      aggregations,
      rowLevel: s.release?.rowLevel === true,
      minGroupSize: s.release?.minGroupSize ?? 1,
      epsilonBudget: CATALOG_EPSILON_BUDGET,
      expiresAt: null,
    },
  };
}
