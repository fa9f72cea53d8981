/** Generators for the green, health, elderly-care and childcare scenarios (catalog #8-14). */
import { clamp, round, unitHasher, Weighted } from '../prng.js';
import { byPopulation, CORE_ENTITIES, cover, idFor, weighted } from '../model.js';
import type { District, RoleGenerator, RowContext, ScenarioGenerator } from '../model.js';

// ---- #8 park carbon accounting

const PARK_INDUSTRY = weighted({
  manufacturing: 30,
  chemicals: 8,
  electronics: 14,
  food: 10,
  textiles: 8,
  logistics: 12,
  'data-center': 3,
  services: 15,
});
/** Median annual emissions per enterprise, tCO2e (log-normal, sigma 1). */
const EMISSIONS_MEDIAN: Record<string, number> = {
  manufacturing: 8000,
  chemicals: 40000,
  electronics: 5000,
  food: 3000,
  textiles: 4000,
  logistics: 2500,
  'data-center': 30000,
  services: 600,
};

export const parkCarbonAccounting: ScenarioGenerator = {
  roles: {
    enterprises: {
      defaultRows: 500,
      row: (c) => {
        const industry = cover(c.i, PARK_INDUSTRY, c.rng);
        const emissions = clamp(c.rng.logNormal(EMISSIONS_MEDIAN[industry], 1), 0, 500_000);
        // Allowances follow sector benchmarks, mostly a little above verified emissions: about 1 in 6 firms is over.
        const allowance = emissions * c.rng.uniform(0.95, 1.25);
        return {
          firm_id: idFor('PK', c.i),
          industry,
          emissions_t: round(emissions, 1),
          balance_t: round(clamp(allowance - emissions, -250_000, 250_000), 1),
        };
      },
    },
  },
};

// ---- #9 recycling facilities

const WASTE = weighted({ construction: 20, 'household-recyclables': 30, kitchen: 15, 'industrial-solid': 20, hazardous: 8, 'e-waste': 7 });
const WASTE_TONNES: Record<string, [number, number]> = {
  construction: [15000, 0.9],
  'household-recyclables': [3000, 0.8],
  kitchen: [8000, 0.7],
  'industrial-solid': [12000, 0.9],
  hazardous: [2000, 0.8],
  'e-waste': [800, 0.8],
};
const RECOVERY: Record<string, number> = {
  construction: 0.85,
  'household-recyclables': 0.9,
  kitchen: 0.75,
  'industrial-solid': 0.7,
  hazardous: 0.45,
  'e-waste': 0.8,
};
/** Industrial streams sit in the industrial districts; household streams follow population. */
const INDUSTRIAL_DISTRICT = weighted<District>({
  shinan: 1,
  shibei: 3,
  licang: 5,
  laoshan: 2,
  chengyang: 14,
  huangdao: 22,
  jimo: 14,
  jiaozhou: 16,
  pingdu: 12,
  laixi: 11,
});

export const wasteFreeCityRecycling: ScenarioGenerator = {
  roles: {
    facilities: {
      defaultRows: 300,
      row: (c) => {
        const category = cover(c.i, WASTE, c.rng);
        const industrial = category === 'industrial-solid' || category === 'hazardous' || category === 'construction';
        const district = (industrial ? INDUSTRIAL_DISTRICT : byPopulation).pick(c.rng);
        const [median, sigma] = WASTE_TONNES[category];
        const mean = RECOVERY[category];
        return {
          facility_id: idFor('RF', c.i),
          district,
          waste_category: category,
          tonnes: round(clamp(c.rng.logNormal(median, sigma), 0, 100_000), 1),
          recovery_rate: round(c.rng.beta(mean * 20, (1 - mean) * 20), 4),
        };
      },
    },
  },
};

// ---- #10 stroke length of stay

const STROKE = new Weighted(['ischemic', 'hemorrhagic', 'tia'], [75, 15, 10]);
const LOS_MEDIAN: Record<string, number> = { ischemic: 9, hemorrhagic: 16, tia: 3 };

/** One stroke stay; `factor` is the hospital's practice (tertiary centres keep patients longer). */
function strokeHospital(prefix: string, factor: number): RoleGenerator {
  return {
    defaultRows: 20_000,
    row: (c) => {
      const type = cover(c.i, STROKE, c.rng);
      const los = c.rng.logNormal(LOS_MEDIAN[type] * factor, type === 'tia' ? 0.5 : 0.45);
      return { stay_id: idFor(prefix, c.i), stroke_type: type, los_days: round(clamp(los, 0, 90), 1) };
    },
  };
}

export const strokeLengthOfStay: ScenarioGenerator = {
  roles: {
    hospital1: strokeHospital('SA', 1.12),
    hospital2: strokeHospital('SB', 1.05),
    hospital3: strokeHospital('SC', 1),
    hospital4: strokeHospital('SD', 0.94),
    hospital5: strokeHospital('SE', 0.88),
  },
};

// ---- #11 disease incidence

const AGE_BANDS = ['0-14', '15-44', '45-64', '65-79', '80+'] as const;
/** Age at diagnosis of type-2 diabetes: mostly 45+. */
const DIABETES_AGE = new Weighted(AGE_BANDS, [0.5, 15, 45, 30, 9.5]);
/** Qingdao's age structure (2020 census, rounded): shares of the population per band. */
const AGE_SHARE = [0.14, 0.4, 0.28, 0.14, 0.04];

function diabetesHospital(prefix: string): RoleGenerator {
  return {
    defaultRows: 8_000,
    row: (c) => ({ case_id: idFor(prefix, c.i), age_band: cover(c.i, DIABETES_AGE, c.rng) }),
  };
}

export const diseaseIncidenceByAge: ScenarioGenerator = {
  roles: {
    hospital1: diabetesHospital('DA'),
    hospital2: diabetesHospital('DB'),
    hospital3: diabetesHospital('DC'),
    registry: {
      defaultRows: 700, // 140 streets x 5 age bands
      row: (c) => {
        const band = c.i % AGE_BANDS.length;
        const street = Math.floor(c.i / AGE_BANDS.length);
        const population = c.keyed('street', street).logNormal(70_000, 0.5);
        const residents = population * AGE_SHARE[band] * c.rng.uniform(0.85, 1.15);
        return { cell_id: idFor('ST', c.i), age_band: AGE_BANDS[band], residents: Math.round(clamp(residents, 0, 300_000)) };
      },
    },
  },
};

// ---- #12 chronic elderly care (registry and health records aligned by resident id, PSI)

const COMMUNITY = weighted({
  badaguan: 6,
  'zhongshan-road': 9,
  'jiangsu-road': 8,
  xiaoyushan: 5,
  taidong: 12,
  'dengzhou-road': 10,
  'haibo-road': 9,
  'fushan-bay': 11,
  zhanshan: 7,
  jinmenlu: 8,
  xiazhuang: 10,
  shazikou: 5,
});
/** Age pyramid in 10-year bands 0-9 .. 100-109 (an ageing old town: about 21% aged 65+). */
const AGE_DECADE = new Weighted([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], [8, 9, 12, 15, 15, 15, 13, 8, 4, 1, 0.05]);

interface Resident {
  community: string;
  age: number;
}

/** Facts of resident k both the registry and the health records agree on. */
function residentOf(c: RowContext, k: number): Resident {
  const r = c.keyed('resident', k);
  const community = k < COMMUNITY.values.length ? COMMUNITY.values[k] : COMMUNITY.pick(r);
  const decade = AGE_DECADE.pick(r);
  // The first residents of each community are elderly, so every community has a denominator at any size.
  const age = k < COMMUNITY.values.length ? 65 + r.int(0, 25) : Math.min(110, decade + r.int(0, 9));
  return { community, age };
}

const holdsResident = { registry: unitHasher('registry-resident'), health: unitHasher('health-resident') };

export const chronicElderlyCareDemand: ScenarioGenerator = {
  roles: {
    registry: {
      defaultRows: 20_000,
      membership: { holds: (k) => k < CORE_ENTITIES || holdsResident.registry(k) < 0.95 },
      row: (c) => {
        const r = residentOf(c, c.k);
        return { resident_id: idFor('RS', c.k), community: r.community, age: r.age };
      },
    },
    health: {
      defaultRows: 16_000,
      membership: { holds: (k) => k < CORE_ENTITIES || holdsResident.health(k) < 0.8 },
      row: (c) => {
        const { age } = residentOf(c, c.k);
        // Chance of at least one chronic condition rises steeply after 50 (logistic in age).
        const pChronic = 0.85 / (1 + Math.exp(-(age - 58) / 8));
        const conditions = c.rng.bernoulli(pChronic) ? 1 + c.rng.poisson(Math.max(0, (age - 40) / 25)) : 0;
        return { resident_id: idFor('RS', c.k), chronic_conditions: Math.min(8, conditions) };
      },
    },
  },
};

// ---- #13 insurance cost ratio

const DIAGNOSIS = weighted({
  cardiovascular: 20,
  respiratory: 18,
  oncology: 10,
  orthopedic: 12,
  maternity: 10,
  digestive: 14,
  neurology: 8,
  other: 8,
});
const STAY_COST: Record<string, number> = {
  cardiovascular: 28000,
  respiratory: 9000,
  oncology: 45000,
  orthopedic: 32000,
  maternity: 7000,
  digestive: 11000,
  neurology: 22000,
  other: 8000,
};
const REIMBURSED_SHARE: Record<string, number> = {
  cardiovascular: 0.68,
  respiratory: 0.72,
  oncology: 0.6,
  orthopedic: 0.62,
  maternity: 0.75,
  digestive: 0.7,
  neurology: 0.65,
  other: 0.66,
};

function costHospital(prefix: string, factor: number): RoleGenerator {
  return {
    defaultRows: 20_000,
    row: (c) => {
      const group = cover(c.i, DIAGNOSIS, c.rng);
      const cost = c.rng.logNormal(STAY_COST[group] * factor, 0.7);
      return { case_id: idFor(prefix, c.i), diagnosis_group: group, cost_yuan: round(clamp(cost, 0, 1_000_000), 2) };
    },
  };
}

export const insuranceCostRatio: ScenarioGenerator = {
  roles: {
    insurer: {
      defaultRows: 30_000,
      row: (c) => {
        const group = cover(c.i, DIAGNOSIS, c.rng);
        const cost = c.rng.logNormal(STAY_COST[group], 0.7);
        const paid = cost * clamp(c.rng.normal(REIMBURSED_SHARE[group], 0.08), 0.2, 0.95);
        return { claim_id: idFor('IC', c.i), diagnosis_group: group, reimbursed_yuan: round(clamp(paid, 0, 500_000), 2) };
      },
    },
    hospital1: costHospital('HA', 1.15),
    hospital2: costHospital('HB', 0.95),
  },
};

// ---- #14 childcare capacity

/** Children aged 3-5 follow recent births: fast-growing districts (huangdao, chengyang) weigh most. */
const CHILD_DISTRICT = weighted<District>({
  shinan: 3,
  shibei: 7,
  licang: 6,
  laoshan: 6,
  chengyang: 14,
  huangdao: 22,
  jimo: 13,
  jiaozhou: 11,
  pingdu: 11,
  laixi: 7,
});
/** Kindergartens lag behind: relatively more in the old town, fewer in growing districts. */
const KINDERGARTEN_DISTRICT = weighted<District>({
  shinan: 5,
  shibei: 9,
  licang: 7,
  laoshan: 7,
  chengyang: 11,
  huangdao: 18,
  jimo: 12,
  jiaozhou: 11,
  pingdu: 12,
  laixi: 8,
});
const OWNERSHIP = weighted({ public: 45, 'private-inclusive': 40, private: 15 });
const PLACES_MEDIAN: Record<string, number> = { public: 200, 'private-inclusive': 160, private: 120 };

export const childcareCapacityGap: ScenarioGenerator = {
  roles: {
    health: {
      defaultRows: 60_000,
      row: (c) => ({ child_id: idFor('CH', c.i), district: cover(c.i, CHILD_DISTRICT, c.rng) }),
    },
    education: {
      defaultRows: 400,
      row: (c) => {
        const district = cover(c.i, KINDERGARTEN_DISTRICT, c.rng);
        const ownership = OWNERSHIP.pick(c.rng);
        const places = Math.round(clamp(c.rng.logNormal(PLACES_MEDIAN[ownership], 0.35), 30, 800));
        return { kindergarten_id: idFor('KG', c.i), district, ownership, places };
      },
    },
  },
};
