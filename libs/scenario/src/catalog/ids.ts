/** The built-in catalog, in the order of docs/scenarios.md (#1 .. #33). */
export const CATALOG_IDS = [
  'water-district-consumption',
  'water-leak-screening',
  'drainage-rainfall-response',
  'ev-charging-demand',
  'ev-grid-load-coupling',
  'microgrid-renewable-balance',
  'household-tariff-audit',
  'park-carbon-accounting',
  'waste-free-city-recycling',
  'stroke-length-of-stay',
  'disease-incidence-by-age',
  'chronic-elderly-care-demand',
  'insurance-cost-ratio',
  'childcare-capacity-gap',
  'salary-benchmark',
  'graduate-job-match',
  'school-teacher-ratio',
  'housing-affordability',
  'transit-od-flows',
  'tourism-spend-per-visitor',
  'parking-occupancy',
  'sme-credit-score',
  'invoice-double-financing',
  'retail-consumption-index',
  'industrial-capacity-utilization',
  'energy-intensity-by-sector',
  'crop-yield-estimate',
  'service-hall-wait-times',
  'drone-inspection-findings',
  'fishery-catch-vs-temperature',
  'emergency-response-coverage',
  'land-parcel-valuation',
  'smart-meter-differential-privacy',
] as const;

export type CatalogId = (typeof CATALOG_IDS)[number];

export function isCatalogId(id: unknown): id is CatalogId {
  return typeof id === 'string' && (CATALOG_IDS as readonly string[]).includes(id);
}

/** Precise argument check shared by every catalog entry point. */
export function checkCatalogId(fn: string, id: unknown): CatalogId {
  if (!isCatalogId(id)) {
    throw new RangeError(`${fn}: ${JSON.stringify(id)} is not a built-in scenario id (see CATALOG_IDS)`);
  }
  return id;
}
