import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decide, withholdsCounts } from './decide.js';
import { REASON_CODES } from './types.js';
import type { ReasonCode, UsagePolicy, UsageRequest, UsageSoFar } from './types.js';

const NOW = new Date('2025-06-15T12:00:00.000Z');

const basePolicy: UsagePolicy = {
  consumers: ['c-water-authority', 'city planning office'],
  purposes: ['public-service', 'research'],
  aggregations: ['count', 'sum', 'mean'],
  rowLevel: false,
  minGroupSize: 5,
  epsilonBudget: 10,
  expiresAt: '2025-12-31T00:00:00Z',
  jobsPerDay: 3,
};
const baseRequest: UsageRequest = {
  consumerId: 'c-water-authority',
  purpose: 'public-service',
  aggregations: ['sum', 'count', 'sum'],
  rowLevel: false,
  minGroupSize: 5,
  epsilon: 1,
};
const baseUsage: UsageSoFar = { epsilonSpent: 2, jobsToday: 0 };

interface Row {
  name: string;
  policy?: Partial<UsagePolicy>;
  request?: Partial<UsageRequest>;
  usage?: Partial<UsageSoFar>;
  now?: string;
  expect: ReasonCode[];
}

const table: Row[] = [
  { name: 'baseline is allowed', expect: [] },
  // each reason alone
  { name: 'unknown consumer', request: { consumerId: 'c-other' }, expect: ['CONSUMER_NOT_ALLOWED'] },
  { name: 'purpose not listed', request: { purpose: 'marketing' }, expect: ['PURPOSE_NOT_ALLOWED'] },
  { name: 'one aggregation not listed', request: { aggregations: ['sum', 'variance'] }, expect: ['AGGREGATION_NOT_ALLOWED'] },
  { name: 'row-level requested, policy forbids', request: { rowLevel: true }, expect: ['ROW_LEVEL_NOT_ALLOWED'] },
  { name: 'group size below policy', request: { minGroupSize: 4 }, expect: ['GROUP_SIZE_TOO_SMALL'] },
  { name: 'budget overspent by this job', usage: { epsilonSpent: 9.5 }, expect: ['BUDGET_EXHAUSTED'] },
  { name: 'policy expired', now: '2026-01-01T00:00:00Z', expect: ['POLICY_EXPIRED'] },
  { name: 'daily limit reached', usage: { jobsToday: 3 }, expect: ['DAILY_LIMIT_REACHED'] },
  // consumers
  { name: '"*" allows any consumer', policy: { consumers: ['*'] }, request: { consumerId: 'anyone' }, expect: [] },
  { name: '"*" among others allows any consumer', policy: { consumers: ['x', '*'] }, request: { consumerId: 'anyone' }, expect: [] },
  { name: 'consumer matched by name', request: { consumerId: 'c-123', consumerName: 'city planning office' }, expect: [] },
  { name: 'consumer name not listed either', request: { consumerId: 'c-123', consumerName: 'someone' }, expect: ['CONSUMER_NOT_ALLOWED'] },
  { name: 'consumer match is exact (case)', request: { consumerId: 'C-WATER-AUTHORITY' }, expect: ['CONSUMER_NOT_ALLOWED'] },
  { name: 'empty consumer list allows nobody', policy: { consumers: [] }, expect: ['CONSUMER_NOT_ALLOWED'] },
  // purposes / aggregations
  { name: '"*" is not a wildcard for purposes', policy: { purposes: ['*'] }, expect: ['PURPOSE_NOT_ALLOWED'] },
  { name: 'no aggregations requested', request: { aggregations: [] }, expect: [] },
  { name: 'every aggregation not listed', request: { aggregations: ['dot', 'ratio'] }, expect: ['AGGREGATION_NOT_ALLOWED'] },
  // row level
  { name: 'row-level allowed by policy', policy: { rowLevel: true }, request: { rowLevel: true }, expect: [] },
  { name: 'aggregate-only job on a row-level policy', policy: { rowLevel: true }, request: { rowLevel: false }, expect: [] },
  // group size boundaries
  { name: 'group size exactly the policy minimum', request: { minGroupSize: 5 }, expect: [] },
  { name: 'group size above policy', request: { minGroupSize: 50 }, expect: [] },
  { name: 'group size 0 against minimum 1', policy: { minGroupSize: 1 }, request: { minGroupSize: 0 }, expect: ['GROUP_SIZE_TOO_SMALL'] },
  // budget boundaries
  { name: 'budget used exactly by this job', usage: { epsilonSpent: 9 }, request: { epsilon: 1 }, expect: [] },
  { name: 'budget already used exactly, noisy job', usage: { epsilonSpent: 10 }, request: { epsilon: 0.5 }, expect: ['BUDGET_EXHAUSTED'] },
  { name: 'budget already used exactly, noise-free job', usage: { epsilonSpent: 10 }, request: { epsilon: 0 }, expect: [] },
  {
    name: 'decimal steps reach the budget exactly',
    policy: { epsilonBudget: 0.3 },
    usage: { epsilonSpent: 0.1 + 0.1 },
    request: { epsilon: 0.1 },
    expect: [],
  },
  {
    name: 'a hair over the budget',
    policy: { epsilonBudget: 1 },
    usage: { epsilonSpent: 0.5 },
    request: { epsilon: 0.5001 },
    expect: ['BUDGET_EXHAUSTED'],
  },
  {
    name: 'no budget (null) allows any epsilon',
    policy: { epsilonBudget: null },
    usage: { epsilonSpent: 1e6 },
    request: { epsilon: 100 },
    expect: [],
  },
  { name: 'single job larger than the whole budget', usage: { epsilonSpent: 0 }, request: { epsilon: 11 }, expect: ['BUDGET_EXHAUSTED'] },
  // expiry boundaries
  { name: 'expiry exactly now is expired', now: '2025-12-31T00:00:00.000Z', expect: ['POLICY_EXPIRED'] },
  { name: 'one millisecond before expiry', now: '2025-12-30T23:59:59.999Z', expect: [] },
  { name: 'expiry with an offset, exactly now', policy: { expiresAt: '2025-06-15T14:00:00+02:00' }, expect: ['POLICY_EXPIRED'] },
  { name: 'no expiry (null)', policy: { expiresAt: null }, now: '2999-01-01T00:00:00Z', expect: [] },
  // daily limit boundaries
  { name: 'one job left today', usage: { jobsToday: 2 }, expect: [] },
  { name: 'over the daily limit', usage: { jobsToday: 7 }, expect: ['DAILY_LIMIT_REACHED'] },
  { name: 'no daily limit (null)', policy: { jobsPerDay: null }, usage: { jobsToday: 1000 }, expect: [] },
  { name: 'no daily limit (absent)', policy: { jobsPerDay: undefined }, usage: { jobsToday: 1000 }, expect: [] },
  // noise
  { name: 'noise required, exact job', policy: { noise: { required: true } }, request: { epsilon: 0 }, expect: ['NOISE_REQUIRED'] },
  { name: 'noise required, noisy job', policy: { noise: { required: true, maxEpsilonPerJob: 1 } }, request: { epsilon: 1 }, expect: [] },
  {
    name: 'noise required, exact job with budget left and spent',
    policy: { noise: { required: true } },
    usage: { epsilonSpent: 10 },
    request: { epsilon: 0 },
    expect: ['NOISE_REQUIRED'],
  },
  {
    name: "noise not required, exact job (today's behaviour)",
    policy: { noise: { required: false } },
    request: { epsilon: 0 },
    expect: [],
  },
  { name: 'noise null, exact job', policy: { noise: null }, request: { epsilon: 0 }, expect: [] },
  {
    name: 'epsilon above the per-job maximum',
    policy: { noise: { required: true, maxEpsilonPerJob: 0.5 } },
    request: { epsilon: 1 },
    expect: ['EPSILON_ABOVE_MAX'],
  },
  {
    name: 'epsilon exactly the per-job maximum',
    policy: { noise: { required: true, maxEpsilonPerJob: 0.3 } },
    request: { epsilon: 0.1 + 0.2 },
    expect: [],
  },
  {
    name: 'per-job maximum applies when noise is optional',
    policy: { noise: { required: false, maxEpsilonPerJob: 0.5 } },
    request: { epsilon: 0.6 },
    expect: ['EPSILON_ABOVE_MAX'],
  },
  {
    name: 'per-job maximum does not refuse an exact job when noise is optional',
    policy: { noise: { required: false, maxEpsilonPerJob: 0.5 } },
    request: { epsilon: 0 },
    expect: [],
  },
  {
    name: 'epsilon above max and over budget',
    policy: { noise: { required: true, maxEpsilonPerJob: 2 } },
    usage: { epsilonSpent: 9 },
    request: { epsilon: 3 },
    expect: ['BUDGET_EXHAUSTED', 'EPSILON_ABOVE_MAX'],
  },
  {
    name: 'noise required, no budget: any noisy job under the max',
    policy: { epsilonBudget: null, noise: { required: true, maxEpsilonPerJob: 1 } },
    usage: { epsilonSpent: 1e6 },
    request: { epsilon: 1 },
    expect: [],
  },
  // scenario allowlist
  {
    name: 'scenario listed by id and version',
    policy: { scenarios: [{ id: 'water', version: 2 }] },
    request: { scenario: { id: 'water', version: 2, hash: 'a'.repeat(64) } },
    expect: [],
  },
  {
    name: 'scenario listed by hash',
    policy: { scenarios: [{ hash: 'b'.repeat(64) }] },
    request: { scenario: { id: 'mine', version: 7, hash: 'b'.repeat(64) } },
    expect: [],
  },
  {
    name: 'scenario id listed, other version',
    policy: { scenarios: [{ id: 'water', version: 2 }] },
    request: { scenario: { id: 'water', version: 3, hash: 'a'.repeat(64) } },
    expect: ['SCENARIO_NOT_ALLOWED'],
  },
  {
    name: 'scenario version listed under another id',
    policy: { scenarios: [{ id: 'water', version: 2 }] },
    request: { scenario: { id: 'waste', version: 2, hash: 'a'.repeat(64) } },
    expect: ['SCENARIO_NOT_ALLOWED'],
  },
  {
    name: 'scenario hash not listed',
    policy: { scenarios: [{ hash: 'b'.repeat(64) }, { id: 'x', version: 1 }] },
    request: { scenario: { id: 'mine', version: 1, hash: 'c'.repeat(64) } },
    expect: ['SCENARIO_NOT_ALLOWED'],
  },
  {
    name: 'allowlist and a request without its scenario',
    policy: { scenarios: [{ id: 'water', version: 1 }] },
    expect: ['SCENARIO_NOT_ALLOWED'],
  },
  {
    name: 'no allowlist (null) allows any scenario',
    policy: { scenarios: null },
    request: { scenario: { id: 'any', version: 9, hash: 'd'.repeat(64) } },
    expect: [],
  },
  // minimum aligned keys
  { name: 'key list below the minimum', policy: { minAlignedKeys: 10 }, request: { alignment: { keys: 1 } }, expect: ['TOO_FEW_KEYS'] },
  { name: 'key list exactly the minimum', policy: { minAlignedKeys: 10 }, request: { alignment: { keys: 10 } }, expect: [] },
  { name: 'private set intersection: decided later', policy: { minAlignedKeys: 10 }, request: { alignment: { keys: null } }, expect: [] },
  { name: 'dataset not aligned: no minimum applies', policy: { minAlignedKeys: 10 }, expect: [] },
  { name: 'empty key list, minimum 1', policy: { minAlignedKeys: 1 }, request: { alignment: { keys: 0 } }, expect: ['TOO_FEW_KEYS'] },
  { name: 'no minimum (null), one key', policy: { minAlignedKeys: null }, request: { alignment: { keys: 1 } }, expect: [] },
  // aligned joint groups: an exact aligned job with a minimum group size above 1 is refused
  {
    name: 'aligned, exact, minGroupSize 5',
    request: { epsilon: 0, alignment: { keys: null, roles: 2 } },
    expect: ['ALIGNED_NOISE_REQUIRED'],
  },
  { name: 'aligned, noisy, minGroupSize 5', request: { epsilon: 1, alignment: { keys: null, roles: 2 } }, expect: [] },
  {
    name: 'aligned, exact, roles not given (taken as joint)',
    request: { epsilon: 0, alignment: { keys: 20 } },
    expect: ['ALIGNED_NOISE_REQUIRED'],
  },
  {
    name: 'aligned, exact, minGroupSize 1 on both sides',
    policy: { minGroupSize: 1 },
    request: { epsilon: 0, minGroupSize: 1, alignment: { keys: null, roles: 2 } },
    expect: [],
  },
  {
    name: "aligned, exact, the job's minGroupSize 1 under the policy's 5 (the policy's counts)",
    request: { epsilon: 0, minGroupSize: 1, alignment: { keys: null, roles: 3 } },
    expect: ['GROUP_SIZE_TOO_SMALL', 'ALIGNED_NOISE_REQUIRED'],
  },
  {
    name: "aligned, exact, policy's minGroupSize 1, the job's 2",
    policy: { minGroupSize: 1 },
    request: { epsilon: 0, minGroupSize: 2, alignment: { keys: null, roles: 2 } },
    expect: ['ALIGNED_NOISE_REQUIRED'],
  },
  {
    name: 'one aligned role (no joint group), exact',
    request: { epsilon: 0, alignment: { keys: 12, roles: 1 } },
    expect: [],
  },
  { name: 'not aligned, exact, minGroupSize 5', request: { epsilon: 0 }, expect: [] },
  // combinations: every failing reason is named, in the order of REASON_CODES
  {
    name: 'consumer + purpose',
    request: { consumerId: 'x', purpose: 'marketing' },
    expect: ['CONSUMER_NOT_ALLOWED', 'PURPOSE_NOT_ALLOWED'],
  },
  {
    name: 'row-level + group size + budget',
    request: { rowLevel: true, minGroupSize: 1, epsilon: 9 },
    expect: ['ROW_LEVEL_NOT_ALLOWED', 'GROUP_SIZE_TOO_SMALL', 'BUDGET_EXHAUSTED'],
  },
  {
    name: 'expired and over the daily limit',
    now: '2026-02-01T00:00:00Z',
    usage: { jobsToday: 3 },
    expect: ['POLICY_EXPIRED', 'DAILY_LIMIT_REACHED'],
  },
  {
    name: 'everything fails at once (a noisy job: all but NOISE_REQUIRED)',
    policy: { noise: { required: true, maxEpsilonPerJob: 1 }, scenarios: [{ id: 'water', version: 1 }], minAlignedKeys: 5 },
    request: {
      consumerId: 'x',
      purpose: 'p',
      aggregations: ['dot'],
      rowLevel: true,
      minGroupSize: 2,
      epsilon: 20,
      scenario: { id: 'water', version: 2, hash: 'e'.repeat(64) },
      alignment: { keys: 1 },
    },
    usage: { jobsToday: 3 },
    now: '2026-01-01T00:00:00Z',
    expect: REASON_CODES.filter((c) => c !== 'NOISE_REQUIRED' && c !== 'ALIGNED_NOISE_REQUIRED'),
  },
  {
    name: 'everything fails at once (an exact job: all but budget and EPSILON_ABOVE_MAX)',
    policy: { noise: { required: true, maxEpsilonPerJob: 1 }, scenarios: [{ hash: 'f'.repeat(64) }], minAlignedKeys: 5 },
    request: {
      consumerId: 'x',
      purpose: 'p',
      aggregations: ['dot'],
      rowLevel: true,
      minGroupSize: 2,
      epsilon: 0,
      scenario: { id: 'water', version: 2, hash: 'e'.repeat(64) },
      alignment: { keys: 4 },
    },
    usage: { jobsToday: 3 },
    now: '2026-01-01T00:00:00Z',
    expect: REASON_CODES.filter((c) => c !== 'BUDGET_EXHAUSTED' && c !== 'EPSILON_ABOVE_MAX'),
  },
];

describe('decide: policy table', () => {
  for (const row of table) {
    it(row.name, () => {
      const policy = { ...basePolicy, ...row.policy };
      const request = { ...baseRequest, ...row.request };
      const usage = { ...baseUsage, ...row.usage };
      const d = decide(policy, request, usage, row.now ? new Date(row.now) : NOW);
      assert.deepEqual(
        d.reasons.map((r) => r.code),
        row.expect,
      );
      assert.equal(d.allow, row.expect.length === 0);
      for (const r of d.reasons) assert.ok(r.message.length > 0, `${r.code} has a message`);
    });
  }
});

describe('decide: reason details', () => {
  it('names the refused aggregations once each', () => {
    const d = decide(basePolicy, { ...baseRequest, aggregations: ['variance', 'sum', 'variance', 'dot'] }, baseUsage, NOW);
    assert.deepEqual(d.reasons[0]?.detail?.refused, ['variance', 'dot']);
  });
  it('reports the remaining budget', () => {
    const d = decide(basePolicy, { ...baseRequest, epsilon: 3 }, { epsilonSpent: 8, jobsToday: 0 }, NOW);
    assert.deepEqual(d.reasons[0]?.detail, { requested: 3, spent: 8, budget: 10, remaining: 2 });
  });
  it('names the per-job maximum and the scenario refused', () => {
    const d = decide(
      { ...basePolicy, noise: { required: true, maxEpsilonPerJob: 0.5 }, scenarios: [{ id: 'a', version: 1 }] },
      { ...baseRequest, epsilon: 1, scenario: { id: 'b', version: 3, hash: '0'.repeat(64) } },
      baseUsage,
      NOW,
    );
    assert.deepEqual(
      d.reasons.map((r) => [r.code, r.detail]),
      [
        ['EPSILON_ABOVE_MAX', { requested: 1, maxEpsilonPerJob: 0.5 }],
        ['SCENARIO_NOT_ALLOWED', { scenario: 'b', version: 3, hash: '0'.repeat(64) }],
      ],
    );
  });
  it('reports remaining 0, not negative, when already overspent', () => {
    const d = decide(basePolicy, baseRequest, { epsilonSpent: 12, jobsToday: 0 }, NOW);
    assert.equal(d.reasons[0]?.detail?.remaining, 0);
  });
  it('does not mutate its inputs', () => {
    const p = structuredClone(basePolicy);
    const r = structuredClone({ ...baseRequest, aggregations: ['dot'] });
    const u = structuredClone(baseUsage);
    const d = decide(p, r, u, NOW);
    (d.reasons[0]?.detail?.allowed as string[]).push('mutated');
    assert.deepEqual(p, basePolicy);
    assert.deepEqual(r, { ...baseRequest, aggregations: ['dot'] });
    assert.deepEqual(u, baseUsage);
  });
});

describe('decide: argument checks', () => {
  const bad: [string, () => unknown, RegExp][] = [
    [
      'NaN epsilon',
      () => decide(basePolicy, { ...baseRequest, epsilon: Number.NaN }, baseUsage, NOW),
      /request\.epsilon must be a finite number >= 0/,
    ],
    ['negative epsilon', () => decide(basePolicy, { ...baseRequest, epsilon: -1 }, baseUsage, NOW), /request\.epsilon/],
    ['negative spent', () => decide(basePolicy, baseRequest, { epsilonSpent: -1, jobsToday: 0 }, NOW), /usage\.epsilonSpent/],
    ['invalid date', () => decide(basePolicy, baseRequest, baseUsage, new Date('nope')), /now must be a valid Date/],
    ['unparsable expiry', () => decide({ ...basePolicy, expiresAt: 'tomorrow' }, baseRequest, baseUsage, NOW), /policy\.expiresAt/],
    ['empty consumer id', () => decide(basePolicy, { ...baseRequest, consumerId: '' }, baseUsage, NOW), /request\.consumerId/],
    [
      'negative maxEpsilonPerJob',
      () => decide({ ...basePolicy, noise: { required: true, maxEpsilonPerJob: -1 } }, baseRequest, baseUsage, NOW),
      /policy\.noise\.maxEpsilonPerJob/,
    ],
    [
      'noise without required',
      () => decide({ ...basePolicy, noise: {} as unknown as UsagePolicy['noise'] }, baseRequest, baseUsage, NOW),
      /policy\.noise/,
    ],
    [
      'NaN alignment keys',
      () => decide(basePolicy, { ...baseRequest, alignment: { keys: Number.NaN } }, baseUsage, NOW),
      /request\.alignment\.keys/,
    ],
    [
      'negative aligned roles',
      () => decide(basePolicy, { ...baseRequest, alignment: { keys: null, roles: -1 } }, baseUsage, NOW),
      /request\.alignment\.roles/,
    ],
    [
      'scenario without hash',
      () =>
        decide(basePolicy, { ...baseRequest, scenario: { id: 'x', version: 1 } as unknown as UsageRequest['scenario'] }, baseUsage, NOW),
      /request\.scenario/,
    ],
    [
      'aggregations not an array',
      () => decide(basePolicy, { ...baseRequest, aggregations: 'sum' as unknown as string[] }, baseUsage, NOW),
      /request\.aggregations/,
    ],
  ];
  for (const [name, f, re] of bad) it(`throws on ${name}`, () => assert.throws(f, re));
});

describe('withholdsCounts', () => {
  it('withholds exact counts when noise is required or groups under a minimum size are suppressed', () => {
    assert.equal(withholdsCounts({ minGroupSize: 1 }), false);
    assert.equal(withholdsCounts({ minGroupSize: 1, noise: null }), false);
    assert.equal(withholdsCounts({ minGroupSize: 1, noise: { required: false, maxEpsilonPerJob: 1 } }), false);
    assert.equal(withholdsCounts({ minGroupSize: 1, noise: { required: true } }), true);
    assert.equal(withholdsCounts({ minGroupSize: 2 }), true);
    assert.equal(withholdsCounts(basePolicy), true);
  });
});
