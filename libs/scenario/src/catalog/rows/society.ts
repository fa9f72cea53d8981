/** Generators for employment, education, housing, transport and tourism (catalog #15-21). */
import { clamp, round, Weighted } from '../prng.js';
import { byPopulation, cover, coverCross, DISTRICT_POPULATION, DISTRICTS, HOURS, idFor, weighted } from '../model.js';
import type { District, RoleGenerator, ScenarioGenerator } from '../model.js';

// ---- #15 salary benchmark

/** Employment by industry; mining is tiny in Qingdao (about 20 of 50,000 employees: suppressed). */
const EMPLOYMENT = weighted({
  manufacturing: 28,
  'it-services': 9,
  finance: 5,
  retail: 12,
  construction: 10,
  logistics: 8,
  hospitality: 8,
  healthcare: 6,
  education: 5,
  marine: 5,
  agriculture: 3.96,
  mining: 0.04,
});
const SALARY_MEDIAN: Record<string, number> = {
  manufacturing: 6500,
  'it-services': 12000,
  finance: 14000,
  retail: 5000,
  construction: 7000,
  logistics: 6500,
  hospitality: 4500,
  healthcare: 9000,
  education: 8000,
  marine: 8500,
  agriculture: 4200,
  mining: 9500,
};
const CONTRACT = weighted({ permanent: 70, 'fixed-term': 25, intern: 5 });
/** Qingdao's monthly minimum wage (2023), yuan: nobody but interns earns less. */
const MINIMUM_WAGE = 2200;

export const salaryBenchmark: ScenarioGenerator = {
  roles: {
    employees: {
      defaultRows: 50_000, // employees of 2,000 enterprises
      row: (c) => {
        const industry = EMPLOYMENT.pick(c.rng);
        const contract = CONTRACT.pick(c.rng);
        const salary =
          contract === 'intern'
            ? c.rng.normal(2500, 400)
            : Math.max(MINIMUM_WAGE, c.rng.logNormal(SALARY_MEDIAN[industry] * (contract === 'fixed-term' ? 0.9 : 1), 0.45));
        return { employee_id: idFor('EM', c.i), industry, contract, monthly_salary_yuan: Math.round(clamp(salary, 0, 200_000)) };
      },
    },
  },
};

// ---- #16 graduates and postings

const MAJORS = [
  'computer-science',
  'electrical-engineering',
  'mechanical-engineering',
  'marine-science',
  'finance',
  'accounting',
  'medicine',
  'law',
  'chemistry',
  'foreign-languages',
] as const;
/** Each university has its own profile: an ocean/engineering university, a comprehensive one, a medical/business one. */
const UNIVERSITY_MIX = [
  [14, 12, 12, 20, 6, 5, 3, 4, 14, 10],
  [12, 8, 8, 4, 12, 12, 8, 10, 8, 18],
  [8, 4, 4, 2, 16, 14, 30, 6, 10, 6],
].map((w) => new Weighted(MAJORS, w));
const POSTING_MAJOR = new Weighted(MAJORS, [25, 15, 12, 3, 10, 9, 8, 4, 6, 8]);
const OFFER_MEDIAN: Record<string, number> = {
  'computer-science': 11000,
  'electrical-engineering': 9500,
  'mechanical-engineering': 7500,
  'marine-science': 6500,
  finance: 8000,
  accounting: 6000,
  medicine: 8500,
  law: 7000,
  chemistry: 6500,
  'foreign-languages': 6000,
};
const POSTING_CONTRACT = weighted({ 'full-time': 70, 'part-time': 10, internship: 20 });

function university(index: number): RoleGenerator {
  return {
    defaultRows: 6_000,
    row: (c) => ({ graduate_id: idFor(`G${index + 1}`, c.i), major: cover(c.i, UNIVERSITY_MIX[index], c.rng) }),
  };
}

export const graduateJobMatch: ScenarioGenerator = {
  roles: {
    university1: university(0),
    university2: university(1),
    university3: university(2),
    platform: {
      defaultRows: 40_000,
      row: (c) => {
        const major = cover(c.i, POSTING_MAJOR, c.rng);
        // The first postings are full-time so every major has a posting that counts.
        const contract = c.i < MAJORS.length ? 'full-time' : POSTING_CONTRACT.pick(c.rng);
        const salary =
          contract === 'internship'
            ? c.rng.normal(3000, 500)
            : c.rng.logNormal(OFFER_MEDIAN[major] * (contract === 'part-time' ? 0.5 : 1), 0.3);
        return { posting_id: idFor('JP', c.i), major, contract, monthly_salary_yuan: Math.round(clamp(salary, 0, 60_000)) };
      },
    },
  },
};

// ---- #17 pupils per teacher

const LEVELS = ['primary', 'junior-secondary', 'senior-secondary'] as const;
const SCHOOL_LEVEL = new Weighted(LEVELS, [55, 30, 15]);
const PUPILS_MEDIAN: Record<string, number> = { primary: 600, 'junior-secondary': 700, 'senior-secondary': 1200 };
/** Teachers follow pupils: district population times the level's share of teachers (secondary classes are smaller). */
const TEACHER_CELL = new Weighted(
  DISTRICTS.flatMap((d) => LEVELS.map((l) => [d, l] as const)),
  DISTRICTS.flatMap((d) => [0.4, 0.3, 0.3].map((share) => share * DISTRICT_POPULATION[d])),
);

export const schoolTeacherRatio: ScenarioGenerator = {
  roles: {
    education: {
      defaultRows: 1_000,
      row: (c) => {
        const fixed = coverCross(c.i, [DISTRICTS, LEVELS]);
        const district = fixed?.[0] ?? byPopulation.pick(c.rng);
        const level = fixed?.[1] ?? SCHOOL_LEVEL.pick(c.rng);
        const pupils = Math.round(clamp(c.rng.logNormal(PUPILS_MEDIAN[level], 0.5), 40, 5000));
        return { school_id: idFor('SC', c.i), district, level, pupils };
      },
    },
    hr: {
      defaultRows: 60_000,
      row: (c) => {
        const fixed = coverCross(c.i, [DISTRICTS, LEVELS]);
        const [district, level] = fixed ?? TEACHER_CELL.pick(c.rng);
        return { teacher_id: idFor('TE', c.i), district, level };
      },
    },
  },
};

// ---- #18 housing affordability

/** Median individual taxable income, 10,000 yuan/year. */
const INCOME_MEDIAN: Record<District, number> = {
  shinan: 12,
  laoshan: 12.5,
  shibei: 9,
  licang: 9,
  chengyang: 8.5,
  huangdao: 8.5,
  jimo: 7,
  jiaozhou: 7,
  pingdu: 5.5,
  laixi: 5.5,
};
/** Typical new-and-resale price, 10,000 yuan per m2. */
const PRICE_PER_M2: Record<District, number> = {
  shinan: 4.0,
  laoshan: 3.6,
  shibei: 2.6,
  licang: 2.4,
  chengyang: 1.9,
  huangdao: 1.8,
  jimo: 1.2,
  jiaozhou: 1.2,
  pingdu: 0.75,
  laixi: 0.7,
};
const SALES = weighted<District>({
  shinan: 6,
  shibei: 10,
  licang: 10,
  laoshan: 9,
  chengyang: 14,
  huangdao: 18,
  jimo: 12,
  jiaozhou: 9,
  pingdu: 6,
  laixi: 6,
});

export const housingAffordability: ScenarioGenerator = {
  roles: {
    tax: {
      defaultRows: 50_000,
      row: (c) => {
        const district = cover(c.i, byPopulation, c.rng);
        const income = c.rng.logNormal(INCOME_MEDIAN[district], 0.6);
        return { taxpayer_id: idFor('TX', c.i), district, annual_income_wan: round(clamp(income, 0, 300), 2) };
      },
    },
    realestate: {
      defaultRows: 15_000,
      row: (c) => {
        const district = cover(c.i, SALES, c.rng);
        const area = c.rng.logNormal(95, 0.3);
        const price = area * PRICE_PER_M2[district] * c.rng.logNormal(1, 0.2);
        return { transaction_id: idFor('RE', c.i), district, price_wan: round(clamp(price, 0, 3000), 2) };
      },
    },
  },
};

// ---- #19 transit origin-destination flows (gravity model over 12 zones)

const ZONES = [
  'shinan',
  'shibei',
  'licang',
  'laoshan',
  'chengyang',
  'huangdao-east',
  'huangdao-west',
  'jimo',
  'jiaozhou',
  'airport',
  'pingdu',
  'laixi',
] as const;
/** Rough zone centroids, km east and north of Zhanqiao pier. */
const ZONE_XY: Record<string, [number, number]> = {
  shinan: [0, 0],
  shibei: [2, 5],
  licang: [8, 12],
  laoshan: [14, 4],
  chengyang: [10, 28],
  'huangdao-east': [-10, -3],
  'huangdao-west': [-30, -15],
  jimo: [30, 40],
  jiaozhou: [-25, 30],
  airport: [-18, 35],
  pingdu: [-60, 70],
  laixi: [-20, 75],
};
/** Trip-generation mass: residents plus jobs, arbitrary units. */
const ZONE_MASS: Record<string, number> = {
  shinan: 10,
  shibei: 11,
  licang: 8,
  laoshan: 8,
  chengyang: 9,
  'huangdao-east': 10,
  'huangdao-west': 7,
  jimo: 6,
  jiaozhou: 5,
  airport: 2,
  pingdu: 3,
  laixi: 2,
};
const METRO_ZONES: readonly string[] = [
  'shinan',
  'shibei',
  'licang',
  'laoshan',
  'chengyang',
  'huangdao-east',
  'huangdao-west',
  'jimo',
  'jiaozhou',
  'airport',
];

function distanceKm(a: string, b: string): number {
  const [ax, ay] = ZONE_XY[a];
  const [bx, by] = ZONE_XY[b];
  return a === b ? 3 : Math.hypot(ax - bx, ay - by);
}

interface Network {
  origin: Weighted<string>;
  destination: Record<string, Weighted<string>>;
  minutes: (km: number) => number;
}

/** Destinations by gravity: mass / (1 + d/10)^2, plus a same-zone share. */
function network(zones: readonly string[], sameZone: number, minutes: (km: number) => number): Network {
  const destination: Record<string, Weighted<string>> = {};
  for (const o of zones) {
    const w = zones.map((d) => (d === o ? 0 : ZONE_MASS[d] / (1 + distanceKm(o, d) / 10) ** 2));
    const others = w.reduce((s, x) => s + x, 0);
    destination[o] = new Weighted(
      zones,
      zones.map((d, j) => (d === o ? sameZone : ((1 - sameZone) * w[j]) / others)),
    );
  }
  return {
    origin: new Weighted(
      zones,
      zones.map((z) => ZONE_MASS[z]),
    ),
    destination,
    minutes,
  };
}

const METRO = network(METRO_ZONES, 0.2, (km) => 8 + 1.6 * km);
const BUS = network(ZONES, 0.55, (km) => 10 + 2.6 * km);

function tripGenerator(prefix: string, net: Network): RoleGenerator {
  return {
    defaultRows: 1_000_000,
    row: (c) => {
      const o = net.origin.pick(c.rng);
      const d = net.destination[o].pick(c.rng);
      const minutes = net.minutes(distanceKm(o, d)) * c.rng.logNormal(1, 0.2) + c.rng.exponential(3); // plus waiting time
      return { trip_id: idFor(prefix, c.i), origin_zone: o, destination_zone: d, minutes: round(clamp(minutes, 0, 180), 1) };
    },
  };
}

export const transitOdFlows: ScenarioGenerator = {
  roles: { metro: tripGenerator('MT', METRO), bus: tripGenerator('BS', BUS) },
};

// ---- #20 tourism

const SCENIC = [
  'zhanqiao-pier',
  'badaguan',
  'laoshan-scenic-area',
  'may-fourth-square',
  'olympic-sailing-center',
  'tsingtao-beer-museum',
  'jinshatan-beach',
  'xiaoyushan-park',
  'shilaoren-beach',
  'zhongshan-park',
] as const;
const POPULARITY = [15, 10, 14, 12, 9, 11, 10, 5, 8, 6];
/** Median card payment by area, yuan: tickets and meals at Laoshan, beer tasting, beach snacks. */
const SPEND_MEDIAN = [90, 70, 130, 80, 100, 150, 60, 40, 55, 45];

function bankGenerator(prefix: string, tilt: readonly number[]): RoleGenerator {
  const areas = new Weighted(
    SCENIC,
    POPULARITY.map((p, j) => p * tilt[j]),
  );
  return {
    defaultRows: 100_000,
    row: (c) => {
      const a = c.i < SCENIC.length ? c.i : SCENIC.indexOf(areas.pick(c.rng));
      return {
        txn_id: idFor(prefix, c.i),
        scenic_area: SCENIC[a],
        amount_yuan: round(clamp(c.rng.logNormal(SPEND_MEDIAN[a], 1), 1, 50_000), 2),
      };
    },
  };
}
const VISITS = new Weighted(SCENIC, POPULARITY);

export const tourismSpendPerVisitor: ScenarioGenerator = {
  roles: {
    bank1: bankGenerator('BA', [1.2, 1.1, 0.9, 1, 1, 1.1, 0.9, 1, 0.9, 1]),
    bank2: bankGenerator('BB', [0.9, 1, 1.1, 1, 1, 0.9, 1.2, 1, 1.1, 1]),
    telecom: {
      defaultRows: 120_000,
      row: (c) => ({ visitor_id: idFor('TV', c.i), scenic_area: cover(c.i, VISITS, c.rng) }),
    },
  },
};

// ---- #21 parking occupancy

/** Occupancy by hour for commercial cores (busy by day) and residential districts (full at night). */
const COMMERCIAL = [
  0.3, 0.25, 0.22, 0.2, 0.2, 0.22, 0.3, 0.5, 0.75, 0.88, 0.92, 0.93, 0.9, 0.9, 0.92, 0.92, 0.9, 0.85, 0.75, 0.7, 0.65, 0.55, 0.45, 0.35,
];
const RESIDENTIAL = [
  0.92, 0.93, 0.94, 0.94, 0.93, 0.9, 0.82, 0.65, 0.5, 0.45, 0.45, 0.47, 0.5, 0.48, 0.47, 0.5, 0.55, 0.65, 0.78, 0.86, 0.9, 0.91, 0.92, 0.92,
];
const COMMERCIAL_SHARE: Record<District, number> = {
  shinan: 0.8,
  shibei: 0.6,
  licang: 0.4,
  laoshan: 0.55,
  chengyang: 0.35,
  huangdao: 0.4,
  jimo: 0.3,
  jiaozhou: 0.3,
  pingdu: 0.25,
  laixi: 0.25,
};

function parkingOperator(prefix: string): RoleGenerator {
  return {
    defaultRows: 40_000,
    row: (c) => {
      const fixed = coverCross(c.i, [DISTRICTS, HOURS]);
      const district = (fixed?.[0] ?? byPopulation.pick(c.rng)) as District;
      const h = fixed ? HOURS.indexOf(fixed[1]) : c.rng.int(0, 23);
      const s = COMMERCIAL_SHARE[district];
      const p = s * COMMERCIAL[h] + (1 - s) * RESIDENTIAL[h];
      return { observation_id: idFor(prefix, c.i), district, hour: HOURS[h], occupied: c.rng.bernoulli(p) ? 1 : 0 };
    },
  };
}

export const parkingOccupancy: ScenarioGenerator = {
  roles: { operator1: parkingOperator('PA'), operator2: parkingOperator('PB'), operator3: parkingOperator('PC') },
};
