/** Generators for government services, city management, ocean, emergency and land (catalog #28-32). */
import { clamp, round, Weighted } from '../prng.js';
import { byPopulation, cover, coverCross, DISTRICTS, idFor, weighted } from '../model.js';
import type { District, RoleGenerator, ScenarioGenerator } from '../model.js';

// ---- #28 service halls

const SERVICES = weighted({
  'household-registration': 15,
  'business-license': 12,
  tax: 14,
  'social-security': 18,
  'housing-fund': 12,
  vehicle: 10,
  pension: 9,
  other: 10,
});
const WAIT_MEDIAN: Record<string, number> = {
  'household-registration': 10,
  'business-license': 18,
  tax: 22,
  'social-security': 15,
  'housing-fund': 12,
  vehicle: 20,
  pension: 14,
  other: 8,
};
/** Queues build up mid-morning and early afternoon: a multiplier by hall opening hour (09-17). */
const RUSH = new Weighted([0.8, 1.3, 1.5, 1.1, 0.7, 1.2, 1.3, 1.0, 0.8], [9, 12, 13, 10, 5, 11, 12, 9, 6]);

export const serviceHallWaitTimes: ScenarioGenerator = {
  roles: {
    halls: {
      defaultRows: 200_000,
      row: (c) => {
        const service = cover(c.i, SERVICES, c.rng);
        const wait = c.rng.logNormal(WAIT_MEDIAN[service], 0.7) * RUSH.pick(c.rng);
        return { visit_id: idFor('SV', c.i), service_type: service, wait_min: round(clamp(wait, 0, 240), 1) };
      },
    },
  },
};

// ---- #29 drone inspection

/** Construction waste concentrates where building goes on: the growing outer districts. */
const BUILDING = weighted<District>({
  shinan: 3,
  shibei: 5,
  licang: 7,
  laoshan: 8,
  chengyang: 14,
  huangdao: 18,
  jimo: 14,
  jiaozhou: 13,
  pingdu: 10,
  laixi: 8,
});
const SEVERITY = weighted({ low: 55, medium: 33, high: 12 });
const PILE_AREA: Record<string, number> = { low: 60, medium: 300, high: 1500 };

function contractor(prefix: string, defaultRows: number): RoleGenerator {
  return {
    defaultRows,
    row: (c) => {
      const severity = SEVERITY.pick(c.rng);
      return {
        finding_id: idFor(prefix, c.i),
        district: BUILDING.pick(c.rng),
        severity,
        area_m2: round(clamp(c.rng.logNormal(PILE_AREA[severity], 0.8), 1, 20_000), 1),
      };
    },
  };
}

export const droneInspectionFindings: ScenarioGenerator = {
  roles: { contractor1: contractor('DA', 3_000), contractor2: contractor('DB', 2_000) },
};

// ---- #30 fishery and sea temperature

const SEA_AREAS = [
  'jiaozhou-bay',
  'laoshan-bay',
  'aoshan-bay',
  'lingshan-bay',
  'tangdao-bay',
  'qianli-rock',
  'haiyang-ground',
  'yellow-sea-central',
] as const;
const LANDINGS = new Weighted(SEA_AREAS, [10, 14, 12, 11, 9, 16, 15, 13]);
/** Season-mean surface temperature, C: warm shallow bays, the Yellow Sea cold water mass offshore. */
const BASE_TEMP = [24.5, 23.5, 23, 23.8, 24, 20.5, 19.5, 17.5];

/** Each area's mean temperature this season: the climatology plus a shared anomaly. */
function seaTemps(r: { normal(m: number, s: number): number }): number[] {
  return BASE_TEMP.map((t) => t + r.normal(0, 0.7));
}

export const fisheryCatchVsTemperature: ScenarioGenerator = {
  roles: {
    fishery: {
      defaultRows: 20_000,
      row: (c) => {
        const a = c.i < SEA_AREAS.length ? c.i : SEA_AREAS.indexOf(LANDINGS.pick(c.rng));
        const temp = c.shared('sea-temp', seaTemps)[a];
        const stock = c.shared('stock', (r) => SEA_AREAS.map(() => r.logNormal(1, 0.3)))[a];
        // Cold-water stocks: the mean landing shrinks as the water warms; each ground has its own stock.
        const mean = 8 * Math.exp(-(temp - 17) / 6) * stock;
        return { landing_id: idFor('FL', c.i), sea_area: SEA_AREAS[a], catch_t: round(clamp(c.rng.logNormal(mean, 0.9), 0, 60), 2) };
      },
    },
    observatory: {
      defaultRows: 2_400,
      row: (c) => {
        const a = c.i % SEA_AREAS.length;
        const temp = c.shared('sea-temp', seaTemps)[a] + c.rng.normal(0, 1.5);
        return { observation_id: idFor('OB', c.i), sea_area: SEA_AREAS[a], temp_c: round(clamp(temp, -2, 32), 2) };
      },
    },
  },
};

// ---- #31 ambulance response

/** Median response, minutes: dense core, suburbs, rural counties. */
const RESPONSE_MEDIAN: Record<District, number> = {
  shinan: 9,
  shibei: 9,
  licang: 10,
  laoshan: 11,
  chengyang: 12,
  huangdao: 12,
  jimo: 14,
  jiaozhou: 14,
  pingdu: 17,
  laixi: 18,
};
const PRIORITY = weighted({ P1: 15, P2: 35, P3: 50 });
const PRIORITY_FACTOR: Record<string, number> = { P1: 0.85, P2: 0.95, P3: 1.1 };

export const emergencyResponseCoverage: ScenarioGenerator = {
  roles: {
    ambulance: {
      defaultRows: 60_000,
      row: (c) => {
        const district = cover(c.i, byPopulation, c.rng);
        const priority = PRIORITY.pick(c.rng);
        const minutes = RESPONSE_MEDIAN[district] * PRIORITY_FACTOR[priority] * c.rng.logNormal(1, 0.35);
        return { call_id: idFor('AC', c.i), district, priority, response_min: round(clamp(minutes, 1, 120), 1) };
      },
    },
  },
};

// ---- #32 land parcels

const LAND_USES = ['residential', 'commercial', 'industrial', 'public', 'agricultural'] as const;
/** Land use mix: the urban core has no farmland; rural counties are mostly agricultural. */
const URBAN = new Weighted(LAND_USES, [50, 20, 5, 24, 1]);
const SUBURBAN = new Weighted(LAND_USES, [35, 10, 25, 15, 15]);
const RURAL = new Weighted(LAND_USES, [20, 5, 15, 10, 50]);
const LAND_MIX: Record<District, Weighted<string>> = {
  shinan: URBAN,
  shibei: URBAN,
  licang: URBAN,
  laoshan: SUBURBAN,
  chengyang: SUBURBAN,
  huangdao: SUBURBAN,
  jimo: RURAL,
  jiaozhou: RURAL,
  pingdu: RURAL,
  laixi: RURAL,
};
const PARCEL_AREA: Record<string, number> = { residential: 15000, commercial: 6000, industrial: 40000, public: 10000, agricultural: 60000 };
/** Benchmark land price in the city centre, yuan/m2, scaled down by district. */
const CENTRE_PRICE: Record<string, number> = { residential: 16000, commercial: 22000, industrial: 1200, public: 3000, agricultural: 150 };
const DISTRICT_PRICE: Record<District, number> = {
  shinan: 1,
  laoshan: 0.9,
  shibei: 0.7,
  licang: 0.6,
  chengyang: 0.45,
  huangdao: 0.45,
  jimo: 0.3,
  jiaozhou: 0.3,
  pingdu: 0.18,
  laixi: 0.16,
};

export const landParcelValuation: ScenarioGenerator = {
  roles: {
    cadastre: {
      defaultRows: 50_000,
      row: (c) => {
        const district = byPopulation.pick(c.rng);
        const use = LAND_MIX[district].pick(c.rng);
        return {
          parcel_id: idFor('LP', c.i),
          land_use: use,
          district,
          area_m2: round(clamp(c.rng.logNormal(PARCEL_AREA[use], 0.9), 50, 500_000), 1),
        };
      },
    },
    valuation: {
      defaultRows: 500, // about 10 benchmark samples per land use and district
      row: (c) => {
        // Rows cycle through every (land use, district) cell so every cell has a benchmark.
        const [use, district] = coverCross(c.i % (LAND_USES.length * DISTRICTS.length), [LAND_USES, DISTRICTS]) as [string, District];
        const price = CENTRE_PRICE[use] * DISTRICT_PRICE[district] * c.rng.logNormal(1, 0.15);
        return { benchmark_id: idFor('LV', c.i), land_use: use, district, price_yuan_per_m2: round(clamp(price, 0, 80_000), 1) };
      },
    },
  },
};
