import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bernoulliExp,
  discreteLaplace,
  gridLaplace,
  noiseGrid,
  rationalOf,
  seededRandom,
  truncatedDiscreteLaplace,
  GRID_BITS,
} from './sampler.js';

/** Upper 0.999 quantile of χ² with k degrees of freedom (Wilson–Hilferty). */
function chi2Quantile999(k: number): number {
  const z = 3.090232;
  return k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
}

/** χ² statistic of observed counts against P(k) ∝ exp(-|k|/t), pooling |k| > cut into the two tails. */
function chi2DiscreteLaplace(draws: number[], t: number, cut: number): { stat: number; dof: number } {
  const q = Math.exp(-1 / t);
  const p0 = (1 - q) / (1 + q); // P(0); P(k) = p0·q^|k|
  const obs = new Map<number, number>();
  for (const k of draws) {
    const key = Math.abs(k) > cut ? Math.sign(k) * (cut + 1) : k;
    obs.set(key, (obs.get(key) ?? 0) + 1);
  }
  let stat = 0;
  let cells = 0;
  for (let k = -cut - 1; k <= cut + 1; k++) {
    const p = Math.abs(k) <= cut ? p0 * q ** Math.abs(k) : (p0 * q ** (cut + 1)) / (1 - q);
    const e = p * draws.length;
    const o = obs.get(k) ?? 0;
    stat += (o - e) ** 2 / e;
    cells++;
  }
  return { stat, dof: cells - 1 };
}

test('rationalOf is exact for doubles', () => {
  assert.deepEqual(rationalOf(0.5), { num: 1n, den: 2n });
  assert.deepEqual(rationalOf(3), { num: 3n, den: 1n });
  const r = rationalOf(0.1);
  assert.equal(Number(r.num) / Number(r.den), 0.1);
  assert.equal(r.den, 1n << 55n);
  assert.throws(() => rationalOf(0), RangeError);
  assert.throws(() => rationalOf(Number.NaN), RangeError);
});

test('Bernoulli(exp(-γ)) has the right mean for γ below and above 1', () => {
  const r = seededRandom('bern');
  for (const [num, den] of [
    [1n, 3n],
    [5n, 2n],
  ] as const) {
    const n = 200_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (bernoulliExp(r, num, den)) hits++;
    const p = Math.exp(-Number(num) / Number(den));
    // 5 standard deviations
    assert.ok(Math.abs(hits / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `γ=${num}/${den}: ${hits / n} vs ${p}`);
  }
});

test('discrete Laplace: χ² over 10^6 draws at a fixed seed matches P(k) ∝ exp(-|k|/t) (t = 2 and t = 1.5)', () => {
  for (const t of [2, 1.5]) {
    const r = seededRandom(`dlap-${t}`);
    const draws: number[] = new Array(1_000_000);
    for (let i = 0; i < draws.length; i++) draws[i] = Number(discreteLaplace(r, rationalOf(t)));
    const { stat, dof } = chi2DiscreteLaplace(draws, t, 12);
    assert.ok(
      stat < chi2Quantile999(dof),
      `t=${t}: χ²=${stat.toFixed(1)} with ${dof} degrees of freedom (0.999 quantile ${chi2Quantile999(dof).toFixed(1)})`,
    );
    // symmetric: as many positive as negative draws (5 standard deviations)
    const pos = draws.filter((k) => k > 0).length;
    const neg = draws.filter((k) => k < 0).length;
    assert.ok(Math.abs(pos - neg) < 5 * Math.sqrt(pos + neg), `${pos} positive vs ${neg} negative`);
  }
});

test('a sampler that is off by a little fails the same χ² check (the check has power)', () => {
  const r = seededRandom('dlap-wrong');
  const t = 2;
  const draws: number[] = new Array(1_000_000);
  // scale 2.05 instead of 2
  for (let i = 0; i < draws.length; i++) draws[i] = Number(discreteLaplace(r, rationalOf(2.05)));
  const { stat, dof } = chi2DiscreteLaplace(draws, t, 12);
  assert.ok(stat > chi2Quantile999(dof), `χ²=${stat.toFixed(1)} should reject a 2.5% scale error`);
});

test('truncation is symmetric: support exactly [-tail, tail], both ends reached equally often', () => {
  const r = seededRandom('trunc');
  const tail = 3n;
  const seen = new Map<bigint, number>();
  for (let i = 0; i < 200_000; i++) {
    const k = truncatedDiscreteLaplace(r, rationalOf(4), tail);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  assert.deepEqual(
    [...seen.keys()].sort((a, b) => Number(a - b)),
    [-3n, -2n, -1n, 0n, 1n, 2n, 3n],
  );
  for (const k of [1n, 2n, 3n]) {
    const a = seen.get(k)!;
    const b = seen.get(-k)!;
    assert.ok(Math.abs(a - b) < 5 * Math.sqrt(a + b), `±${k}: ${a} vs ${b}`);
  }
});

test('grid noise: every output is an exact multiple of its power-of-two grid (no floating-point lattice of the true value)', () => {
  const r = seededRandom('grid');
  for (const b of [0.37, 12.5, 3e5]) {
    const grid = noiseGrid(b);
    assert.equal(Math.log2(grid), Math.ceil(Math.log2(b)) - GRID_BITS);
    let sumAbs = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const x = gridLaplace(r, b, grid, 40);
      assert.ok(Number.isInteger(x / grid), `${x} is not on the grid ${grid}`);
      assert.ok(Math.abs(x) <= Math.ceil((40 * b) / grid) * grid);
      sumAbs += Math.abs(x);
    }
    // E|X| of a Laplace(b) is b
    assert.ok(Math.abs(sumAbs / n - b) < 0.05 * b, `mean |noise| ${sumAbs / n} vs ${b}`);
  }
});
