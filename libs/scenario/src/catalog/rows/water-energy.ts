/** Generators for the water and energy scenarios (catalog #1-7 and #33). */
import { clamp, round, Weighted } from '../prng.js';
import type { Rng } from '../prng.js';
import { byPopulation, cover, coverCross, DISTRICTS, HOURS, hourProfile, idFor, weighted } from '../model.js';
import type { District, RoleGenerator, RowContext, ScenarioGenerator } from '../model.js';

/** Old-town districts have older mains and more leaking service pipes. */
const LEAK_RATE: Record<District, number> = {
  shinan: 0.05,
  shibei: 0.05,
  licang: 0.035,
  laoshan: 0.02,
  chengyang: 0.03,
  huangdao: 0.025,
  jimo: 0.035,
  jiaozhou: 0.035,
  pingdu: 0.04,
  laixi: 0.04,
};

/** One smart meter's day: households log-normal around 0.42 m3, 7% commercial accounts around 4 m3. */
function meterRow(c: RowContext): { meter_id: string; district: District; m3: number; night_flow: number } {
  const district = cover(c.i, byPopulation, c.rng);
  const commercial = c.rng.bernoulli(0.07);
  const m3 = commercial ? c.rng.logNormal(4, 0.9) : c.rng.logNormal(0.42, 0.55);
  const leaking = c.rng.bernoulli(LEAK_RATE[district]);
  const night = leaking ? c.rng.logNormal(0.15, 0.8) : c.rng.exponential(commercial ? 0.012 : 0.004);
  return { meter_id: idFor('WM', c.i), district, m3: round(clamp(m3, 0, 50), 3), night_flow: round(clamp(night, 0, 2), 4) };
}

export const waterDistrictConsumption: ScenarioGenerator = {
  roles: { utility: { defaultRows: 100_000, row: meterRow } },
};

const AGE_BANDS = ['0-10', '10-20', '20-30', '30+'] as const;
/** Pipe age mix: the old town mostly 20+ years, new districts mostly under 10. */
const OLD_TOWN = new Weighted(AGE_BANDS, [10, 20, 35, 35]);
const INNER = new Weighted(AGE_BANDS, [25, 35, 25, 15]);
const NEW_TOWN = new Weighted(AGE_BANDS, [50, 30, 15, 5]);
const PIPE_AGE: Record<District, Weighted<string>> = {
  shinan: OLD_TOWN,
  shibei: OLD_TOWN,
  licang: INNER,
  laoshan: NEW_TOWN,
  chengyang: INNER,
  huangdao: NEW_TOWN,
  jimo: INNER,
  jiaozhou: INNER,
  pingdu: INNER,
  laixi: INNER,
};
const LEAK_BY_AGE: Record<string, number> = { '0-10': 0.01, '10-20': 0.025, '20-30': 0.05, '30+': 0.09 };

export const waterLeakScreening: ScenarioGenerator = {
  roles: {
    utility: {
      defaultRows: 100_000,
      row: (c) => {
        const fixed = coverCross(c.i, [DISTRICTS, AGE_BANDS]);
        const district = (fixed?.[0] ?? byPopulation.pick(c.rng)) as District;
        const band = fixed?.[1] ?? PIPE_AGE[district].pick(c.rng);
        const leaking = c.rng.bernoulli(LEAK_BY_AGE[band]);
        const night = leaking ? c.rng.logNormal(0.12, 0.8) : c.rng.exponential(0.004);
        return { meter_id: idFor('WM', c.i), district, pipe_age_band: band, night_flow: round(clamp(night, 0, 2), 4) };
      },
    },
  },
};

// ---- #3 drainage: one storm day; rain per district-hour is a shared field both roles see.

interface Storm {
  peak: Record<string, number>;
  intensity: Record<string, number>;
  base: Record<string, number>;
}

function storm(c: RowContext): Storm {
  return c.shared('storm', (r: Rng) => {
    const peakHour = r.normal(15, 1.5);
    const s: Storm = { peak: {}, intensity: {}, base: {} };
    for (const d of DISTRICTS) {
      s.peak[d] = peakHour + r.normal(0, 1); // the front crosses the city within a couple of hours
      s.intensity[d] = r.logNormal(22, 0.4); // mm/h at the storm's peak
      s.base[d] = r.uniform(20, 60); // dry-weather level of the district's drains, cm
    }
    return s;
  });
}

/** Expected rainfall (mm) in district d during hour h: a Gaussian pulse around the storm peak. */
function rainField(s: Storm, d: string, h: number): number {
  if (h < 0) return 0;
  const x = (h + 0.5 - s.peak[d]) / 2.5;
  return s.intensity[d] * Math.exp(-0.5 * x * x);
}

/** Row i covers district-hour i mod 240 (districts fastest), so every district-hour has data. */
function districtHour(i: number): { district: string; h: number } {
  return { district: DISTRICTS[i % DISTRICTS.length], h: Math.floor(i / DISTRICTS.length) % 24 };
}

export const drainageRainfallResponse: ScenarioGenerator = {
  roles: {
    weather: {
      defaultRows: 240, // 10 districts x 24 h
      row: (c) => {
        const { district, h } = districtHour(c.i);
        const rain = rainField(storm(c), district, h) * c.rng.uniform(0.85, 1.15) + (c.rng.bernoulli(0.15) ? c.rng.exponential(0.3) : 0);
        return { record_id: idFor('RW', c.i), district, hour: HOURS[h], rain_mm: round(clamp(rain, 0, 150), 1) };
      },
    },
    drains: {
      defaultRows: 2_000,
      row: (c) => {
        const { district, h } = districtHour(c.i);
        const s = storm(c);
        // Drains respond with a lag: 60% of this hour's rain, 30% of the last hour's, 10% of the one before.
        const load = 0.6 * rainField(s, district, h) + 0.3 * rainField(s, district, h - 1) + 0.1 * rainField(s, district, h - 2);
        const level = s.base[district] + 3.5 * load * c.rng.logNormal(1, 0.2) + c.rng.normal(0, 8);
        return { reading_id: idFor('DS', c.i), district, hour: HOURS[h], level_cm: round(clamp(level, 0, 400), 1) };
      },
    },
  },
};

// ---- #4, #5 charging piles

/** Session start hours: morning top-ups, a lunchtime bump, a long evening/overnight peak. */
const SESSION_WEIGHTS = [3, 2, 1.5, 1, 1, 1.5, 3, 5, 6, 5, 4, 4, 5, 5, 4, 4, 4, 5, 7, 8, 8, 7, 6, 4];
const SESSION_START = hourProfile(SESSION_WEIGHTS);
const EV_DISTRICT = weighted<District>({
  shinan: 8,
  shibei: 10,
  licang: 9,
  laoshan: 10,
  chengyang: 11,
  huangdao: 16,
  jimo: 9,
  jiaozhou: 9,
  pingdu: 5,
  laixi: 4,
});

/** A pile's main session: DC fast piles (share `dcShare`) deliver more per session than AC piles. */
function pileGenerator(prefix: string, dcShare: number): RoleGenerator {
  return {
    defaultRows: 25_000,
    row: (c) => {
      const dc = c.rng.bernoulli(dcShare);
      const kwh = dc ? c.rng.logNormal(28, 0.45) : c.rng.logNormal(14, 0.5);
      return {
        pile_id: idFor(prefix, c.i),
        district: EV_DISTRICT.pick(c.rng),
        hour: SESSION_START.pick(c.rng),
        kwh: round(clamp(kwh, 0, 150), 2),
      };
    },
  };
}

export const evChargingDemand: ScenarioGenerator = {
  roles: { operator1: pileGenerator('CA', 0.55), operator2: pileGenerator('CB', 0.35), operator3: pileGenerator('CC', 0.2) },
};

/** Relative city load by hour: night trough, late-morning shoulder, evening peak. */
const CITY_LOAD = [
  0.62, 0.58, 0.56, 0.55, 0.56, 0.6, 0.7, 0.82, 0.92, 1.0, 1.05, 1.08, 1.0, 1.02, 1.05, 1.04, 1.03, 1.08, 1.18, 1.22, 1.18, 1.05, 0.9, 0.74,
];
const EV_SHARE_BY_HOUR = SESSION_WEIGHTS.map((w) => w / 8);

export const evGridLoadCoupling: ScenarioGenerator = {
  roles: {
    operator1: pileGenerator('CA', 0.55),
    operator2: pileGenerator('CB', 0.35),
    grid: {
      defaultRows: 9_600, // 400 feeders x 24 h
      row: (c) => {
        const feeder = Math.floor(c.i / 24);
        const h = c.i % 24;
        const f = c.keyed('feeder', feeder);
        const district = DISTRICTS[feeder % DISTRICTS.length];
        const base = f.logNormal(3500, 0.35);
        // Feeders with many piles carry part of the charging load on top of the city profile.
        const evLoad = f.uniform(50, 400) * EV_SHARE_BY_HOUR[h];
        const load = base * CITY_LOAD[h] * c.rng.uniform(0.93, 1.07) + evLoad;
        return { record_id: idFor('FD', c.i), district, hour: HOURS[h], load_kwh: round(clamp(load, 0, 20000), 1) };
      },
    },
  },
};

// ---- #6 microgrid

/** Clear-sky shape of PV output: zero at night, a sine arc from 05:30 to 18:30. */
function solarShape(h: number): number {
  const x = (h + 0.5 - 5.5) / 13;
  return x > 0 && x < 1 ? Math.sin(Math.PI * x) : 0;
}
const OFFICE = [0.25, 0.22, 0.2, 0.2, 0.2, 0.25, 0.35, 0.6, 0.9, 1, 1, 1, 0.85, 0.95, 1, 1, 0.95, 0.85, 0.6, 0.45, 0.38, 0.32, 0.28, 0.26];
const FACTORY = [0.45, 0.42, 0.4, 0.4, 0.42, 0.5, 0.7, 0.95, 1, 1, 1, 1, 0.9, 1, 1, 1, 1, 0.95, 0.8, 0.65, 0.55, 0.5, 0.48, 0.46];
const DATA_CENTER = HOURS.map(() => 1);
const TENANT = new Weighted([OFFICE, FACTORY, DATA_CENTER], [55, 35, 10]);

export const microgridRenewableBalance: ScenarioGenerator = {
  roles: {
    pv: {
      defaultRows: 4_800, // 200 inverters x 24 h
      row: (c) => {
        const inverter = Math.floor(c.i / 24);
        const h = c.i % 24;
        const capacity = c.keyed('inverter', inverter).uniform(150, 330); // kWp
        const clouds = c.shared('clouds', (r) => r.uniform(0.6, 1));
        const kwh = capacity * 0.8 * solarShape(h) * clouds * c.rng.uniform(0.9, 1.1);
        return { reading_id: idFor('PV', c.i), hour: HOURS[h], kwh: round(clamp(kwh, 0, 400), 2) };
      },
    },
    load: {
      defaultRows: 7_200, // 300 tenant meters x 24 h
      row: (c) => {
        const meter = Math.floor(c.i / 24);
        const h = c.i % 24;
        const m = c.keyed('tenant', meter);
        const profile = TENANT.pick(m);
        const base = m.logNormal(80, 0.6);
        const kwh = base * profile[h] * c.rng.uniform(0.9, 1.1);
        return { reading_id: idFor('LD', c.i), hour: HOURS[h], kwh: round(clamp(kwh, 0, 600), 2) };
      },
    },
  },
};

// ---- #7 household tariff

/** The current residential time-of-use tariff, yuan/kWh: valley 23:00-08:00, peaks 10-12 and 17-22. */
export const CURRENT_TARIFF: readonly number[] = HOURS.map((_, h) =>
  h < 8 || h === 23 ? 0.3469 : (h >= 10 && h < 12) || (h >= 17 && h < 22) ? 0.6969 : 0.5469,
);
/** Mean household kWh by hour: low overnight, a breakfast bump, the evening peak. */
const HOUSEHOLD_KWH = [
  0.18, 0.15, 0.13, 0.12, 0.12, 0.14, 0.22, 0.34, 0.3, 0.24, 0.22, 0.26, 0.3, 0.26, 0.22, 0.22, 0.26, 0.36, 0.52, 0.62, 0.64, 0.58, 0.44,
  0.28,
];

export const householdTariffAudit: ScenarioGenerator = {
  roles: {
    grid: {
      defaultRows: 1_200_000, // 50,000 households x 24 h
      row: (c) => {
        const household = Math.floor(c.i / 24);
        const h = c.i % 24;
        const hh = c.keyed('household', household);
        const district = household < DISTRICTS.length ? DISTRICTS[household] : byPopulation.pick(hh);
        const size = hh.logNormal(1, 0.5); // household size and appliances
        const kwh = size * HOUSEHOLD_KWH[h] * c.rng.logNormal(1, 0.3);
        return { reading_id: idFor('HH', c.i), district, hour: HOURS[h], kwh: round(clamp(kwh, 0, 15), 3) };
      },
    },
    price: {
      defaultRows: 24,
      row: (c) => ({ tariff_id: idFor('TF', c.i), hour: HOURS[c.i % 24], yuan_per_kwh: CURRENT_TARIFF[c.i % 24] }),
    },
  },
};
