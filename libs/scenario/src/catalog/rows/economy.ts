/** Generators for finance, commerce, industry and agriculture (catalog #22-27). */
import { clamp, round, unitHasher, Weighted } from '../prng.js';
import { CORE_ENTITIES, cover, idFor, weighted } from '../model.js';
import type { Membership, RoleGenerator, RowContext, ScenarioGenerator } from '../model.js';

/** Role holds entity k with probability p (seed-independent), plus the shared core 0..15. */
function sampled(tag: string, p: number): Membership {
  const h = unitHasher(tag);
  return { holds: (k) => k < CORE_ENTITIES || h(k) < p };
}

/** `count` keys spread evenly over `from` (deterministic). */
function spread(from: readonly number[], count: number): number[] {
  if (from.length <= count) return [...from];
  const step = from.length / count;
  return Array.from({ length: count }, (_, j) => from[Math.floor(j * step)]);
}

// ---- #22 SME credit score (bank, tax, utility aligned on firm id; keys listed by the bank)

interface Firm {
  health: number;
  size: number;
}

/** Facts about firm k every source reflects: creditworthiness (standard normal) and size. */
function firmOf(c: RowContext, k: number): Firm {
  const r = c.keyed('firm', k);
  return { health: r.gauss(), size: r.logNormal(1, 0.9) };
}

export const smeCreditScore: ScenarioGenerator = {
  roles: {
    bank: {
      defaultRows: 5_000,
      membership: sampled('sme-bank', 0.3),
      row: (c) => {
        const f = firmOf(c, c.k);
        const overdue = f.health < -1.2 ? c.rng.poisson(60) : f.health < -0.3 ? c.rng.poisson(5) : c.rng.poisson(0.3);
        return {
          firm_id: idFor('FC', c.k),
          overdue_days_12m: Math.min(365, overdue),
          outstanding_wan: round(clamp(f.size * 80 * c.rng.logNormal(1, 0.5), 0, 5000), 2),
        };
      },
    },
    tax: {
      defaultRows: 20_000,
      membership: sampled('sme-tax', 1),
      row: (c) => {
        const f = firmOf(c, c.k);
        const paid = f.size * 15 * c.rng.logNormal(1, 0.4) * (f.health > -1.5 ? 1 : 0.5);
        return {
          firm_id: idFor('FC', c.k),
          tax_paid_wan: round(clamp(paid, 0, 3000), 2),
          filing_months: c.rng.binomial(12, f.health < -1 ? 0.7 : 0.97),
        };
      },
    },
    utility: {
      defaultRows: 15_000,
      membership: sampled('sme-utility', 0.9),
      row: (c) => {
        const f = firmOf(c, c.k);
        return { firm_id: idFor('FC', c.k), on_time_ratio: round(clamp(0.92 + 0.05 * f.health + c.rng.normal(0, 0.03), 0, 1), 4) };
      },
    },
  },
  params: (rows, tools) => {
    const bank = tools.entitiesOf('bank', rows.bank);
    const beyond = tools.scannedUpTo(rows) + 1;
    // 200 of the bank's borrowers, plus three firms no source holds (reported as missing keys).
    return { firms: [...spread(bank, 200), beyond, beyond + 7, beyond + 13].map((k) => idFor('FC', k)) };
  },
};

// ---- #23 invoice double financing (platforms x3 and tax aligned on invoice id; keys listed by the regulator)

/**
 * About 60% of issued invoices are financed, each on one platform; each other platform also
 * finances 2% of them (double financing); 0.5% of a platform's invoices are fictitious (no tax
 * record). No shared core here: no group needs covering.
 */
const FINANCED = unitHasher('invoice-financed');
const PRIMARY = unitHasher('invoice-primary');
const FAKE_BASE = 500_000_000;

function platformMembership(p: number): Membership {
  const second = unitHasher(`invoice-second-${p}`);
  const fake = unitHasher(`invoice-fake-${p}`);
  return {
    holds: (k) => {
      if (FINANCED(k) >= 0.6) return false;
      return Math.floor(PRIMARY(k) * 3) === p || second(k) < 0.02;
    },
    remap: (k) => (fake(k) < 0.005 ? FAKE_BASE + k : k),
  };
}

/** Invoice value, 10,000 yuan: log-normal around 30 (supply-chain invoices of SMEs). */
function invoiceValue(c: RowContext, k: number): number {
  return clamp(c.keyed('invoice', k).logNormal(30, 1), 0.1, 1000);
}

function financePlatform(p: number): RoleGenerator {
  return {
    defaultRows: 20_000,
    membership: platformMembership(p),
    // Platforms advance 70-90% of the invoice value.
    row: (c) => ({ invoice_id: idFor('IV', c.k), financed_wan: round(invoiceValue(c, c.k) * c.rng.uniform(0.7, 0.9), 2) }),
  };
}

export const invoiceDoubleFinancing: ScenarioGenerator = {
  roles: {
    platform1: financePlatform(0),
    platform2: financePlatform(1),
    platform3: financePlatform(2),
    tax: {
      defaultRows: 100_000,
      membership: sampled('invoice-tax', 1),
      row: (c) => ({ invoice_id: idFor('IV', c.k), value_wan: round(invoiceValue(c, c.k), 2) }),
    },
  },
  params: (rows, tools) => {
    const platforms = ['platform1', 'platform2', 'platform3'].map((r) => tools.entitiesOf(r, rows[r]));
    const seen = new Map<number, number>();
    for (const list of platforms) for (const k of list) seen.set(k, (seen.get(k) ?? 0) + 1);
    const doubled = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    const fictitious = platforms.flat().filter((k) => k >= FAKE_BASE);
    const ordinary = platforms
      .map((l) =>
        spread(
          l.filter((k) => k < FAKE_BASE),
          60,
        ),
      )
      .flat();
    const beyond = tools.scannedUpTo(rows) + 1;
    // The regulator's list: ordinary financed invoices, every double-financed one it suspects (up to 60),
    // up to 5 fictitious ones and two numbers nobody holds.
    const keys = [...new Set([...ordinary, ...spread(doubled, 60), ...spread(fictitious, 5), beyond, beyond + 11])];
    return { invoices: keys.map((k) => idFor('IV', k)) };
  },
};

// ---- #24 retail consumption index

const MERCHANTS = weighted({ grocery: 30, restaurants: 22, apparel: 10, electronics: 6, travel: 8, fuel: 10, health: 8, entertainment: 6 });
const TICKET: Record<string, number> = {
  grocery: 85,
  restaurants: 95,
  apparel: 260,
  electronics: 900,
  travel: 600,
  fuel: 280,
  health: 120,
  entertainment: 150,
};
const WEEKS = Array.from({ length: 12 }, (_, i) => `w${String(i + 1).padStart(2, '0')}`);
/** A holiday week (w05) and a shopping festival (w11) lift spending. */
const WEEK = new Weighted(WEEKS, [1, 1, 1, 1, 1.35, 1, 0.95, 1, 1, 1, 1.25, 1.05]);

function processor(prefix: string): RoleGenerator {
  return {
    defaultRows: 150_000,
    row: (c) => {
      const category = cover(c.i, MERCHANTS, c.rng);
      return {
        txn_id: idFor(prefix, c.i),
        merchant_category: category,
        week: WEEK.pick(c.rng),
        amount_yuan: round(clamp(c.rng.logNormal(TICKET[category], 0.8), 1, 20_000), 2),
      };
    },
  };
}

export const retailConsumptionIndex: ScenarioGenerator = {
  roles: { processor1: processor('PY'), processor2: processor('PZ') },
};

// ---- #25 capacity utilisation

const SECTORS = [
  'automotive',
  'machinery',
  'electronics',
  'chemicals',
  'textiles',
  'food-processing',
  'shipbuilding',
  'home-appliances',
] as const;
const MEAN_UTILISATION: Record<string, number> = {
  automotive: 0.72,
  machinery: 0.6,
  electronics: 0.78,
  chemicals: 0.85,
  textiles: 0.55,
  'food-processing': 0.65,
  shipbuilding: 0.5,
  'home-appliances': 0.7,
};

function machinePlatform(prefix: string, mix: readonly number[]): RoleGenerator {
  const sector = new Weighted(SECTORS, mix);
  return {
    defaultRows: 30_000,
    row: (c) => {
      const s = cover(c.i, sector, c.rng);
      const m = MEAN_UTILISATION[s];
      // About 5% of connected machines sit idle; the rest follow a Beta around the sector mean.
      const u = c.rng.bernoulli(0.05) ? c.rng.uniform(0, 0.05) : c.rng.beta(m * 8, (1 - m) * 8);
      return { machine_id: idFor(prefix, c.i), sector: s, utilization: round(clamp(u, 0, 1), 4) };
    },
  };
}

export const industrialCapacityUtilization: ScenarioGenerator = {
  roles: {
    platform1: machinePlatform('MA', [20, 20, 10, 8, 6, 10, 6, 20]),
    platform2: machinePlatform('MB', [10, 15, 20, 15, 12, 12, 10, 6]),
  },
};

// ---- #26 energy intensity (grid and statistics bureau aligned by PSI)

const SECTOR_SHARE = new Weighted(SECTORS, [12, 20, 15, 10, 10, 14, 5, 14]);
/** Electricity per unit of output, MWh per 10,000 yuan. */
const INTENSITY: Record<string, number> = {
  automotive: 0.08,
  machinery: 0.12,
  electronics: 0.1,
  chemicals: 0.6,
  textiles: 0.35,
  'food-processing': 0.15,
  shipbuilding: 0.2,
  'home-appliances': 0.07,
};

interface Plant {
  sector: string;
  output: number;
  intensity: number;
}

function plantOf(c: RowContext, k: number): Plant {
  const r = c.keyed('plant', k);
  const sector = k < SECTORS.length ? SECTORS[k] : SECTOR_SHARE.pick(r);
  return { sector, output: clamp(r.logNormal(20_000, 1.1), 2000, 500_000), intensity: INTENSITY[sector] * r.logNormal(1, 0.35) };
}

export const energyIntensityBySector: ScenarioGenerator = {
  roles: {
    grid: {
      defaultRows: 12_000,
      membership: sampled('plant-grid', 0.9),
      row: (c) => {
        const p = plantOf(c, c.k);
        return { firm_id: idFor('FP', c.k), energy_mwh: round(clamp(p.output * p.intensity * c.rng.logNormal(1, 0.05), 0, 200_000), 1) };
      },
    },
    stats: {
      defaultRows: 6_000,
      membership: sampled('plant-stats', 0.45),
      row: (c) => {
        const p = plantOf(c, c.k);
        return { firm_id: idFor('FP', c.k), sector: p.sector, output_wan: round(p.output, 1) };
      },
    },
  },
};

// ---- #27 crop yield (met bureau and cooperative aligned on plot id; keys listed by the consumer)

export const cropYieldEstimate: ScenarioGenerator = {
  roles: {
    met: {
      defaultRows: 10_000,
      membership: sampled('plot-met', 1),
      row: (c) => {
        const w = c.keyed('plot-weather', c.k);
        const rain = w.logNormal(650, 0.18);
        const gdd = w.normal(2400, 180);
        const sunshine = w.normal(1900, 120) - 0.3 * (rain - 650); // rainy seasons are cloudier
        return {
          plot_id: idFor('PL', c.k),
          rain_mm: round(clamp(rain, 0, 1200), 1),
          gdd: round(clamp(gdd, 0, 3500), 1),
          sunshine_h: round(clamp(sunshine, 0, 2200), 1),
        };
      },
    },
    coop: {
      defaultRows: 8_000,
      membership: sampled('plot-coop', 0.75),
      row: (c) => {
        const p = c.keyed('plot-inputs', c.k);
        return {
          plot_id: idFor('PL', c.k),
          area_mu: round(clamp(p.logNormal(12, 0.9), 0.5, 300), 2),
          fertilizer_kg_per_mu: round(clamp(p.normal(32, 7), 0, 80), 1),
          irrigated: p.bernoulli(0.55) ? 1 : 0,
        };
      },
    },
  },
  params: (rows, tools) => {
    const coop = tools.entitiesOf('coop', rows.coop);
    const beyond = tools.scannedUpTo(rows) + 1;
    return {
      plots: [...spread(coop, 200), beyond, beyond + 5, beyond + 9].map((k) => idFor('PL', k)),
      // kg/mu per mm of rain, per degree-day, per hour of sunshine, per kg/mu of nitrogen, and for irrigation.
      model_weights: [0.1, 0.08, 0.05, 2, 60],
      model_bias: 20,
    };
  },
};
