/**
 * Release policy that holds without the consumer's cooperation (issue 17, first parts): a provider's policy can
 * require noise (with a maximum epsilon per job, every job charged to the budget), name the scenarios that may
 * read its dataset (id + version, or content hash) and a minimum number of aligned keys; each refusal names its
 * reason in the dry run and on submit, is a ledger event, and queues and charges nothing. A dataset that requires
 * noise or a minimum group size withholds exact row and missing-key counts: the membership attack (one aligned
 * key, compare everything the consumer can read) answers the same for a key that is present and one that is not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretKeyset } from '#he-core';
import { BudgetEntity, JobEntity } from '#persistence';
import { scenarioHash } from '#policy';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, publishKeyset, readKeyFile, waitForJob } from '#sdk';
import { type Row, type Scenario, validateScenario } from '#scenario';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const text = { description: 'policy binding test' };
const col = {
  rid: { type: 'id', ...text },
  cat: { type: 'category', values: ['a', 'b', 'c'], ...text },
  x: { type: 'number', min: 0, max: 1000, ...text },
};
const PURPOSE = 'research';

/** One role, counts and sums per category; `release` as given (noise: epsilon per metric, two metrics). */
function blocked(id: string, release: Record<string, unknown>, title = id): Scenario {
  return {
    id,
    title,
    sector: 'test',
    description: 'policy binding test, one role',
    inputs: { p: { description: 'rows', columns: col } },
    params: {},
    metrics: [
      { name: 'n', agg: 'count', role: 'p', by: ['p.cat'], description: 'rows per category' },
      { name: 'total', agg: 'sum', of: 'p.x', by: ['p.cat'], description: 'x per category' },
    ],
    release,
  } as unknown as Scenario;
}

/** Two roles aligned on the consumer's key list (`params.keys`). */
function aligned(id: string, release: Record<string, unknown>): Scenario {
  return {
    id,
    title: id,
    sector: 'test',
    description: 'policy binding test, aligned rows',
    inputs: {
      reg: { description: 'registry', columns: { rid: col.rid, cat: col.cat } },
      pay: { description: 'payments', columns: { rid: col.rid, x: col.x } },
    },
    params: { keys: { type: 'id-list', description: 'the ids to align' } },
    align: { on: { reg: 'rid', pay: 'rid' }, keys: '$params.keys' },
    metrics: [{ name: 'paid', agg: 'sum', of: 'pay.x', by: ['reg.cat'], description: 'payments per registry category' }],
    release,
  } as unknown as Scenario;
}

function policy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    consumers: ['*'],
    purposes: [PURPOSE],
    aggregations: ['count', 'sum'],
    rowLevel: false,
    minGroupSize: 5,
    epsilonBudget: null,
    expiresAt: null,
    ...extra,
  };
}

/** 90 rows with ids p0..p89 (p42 among them), 30 per category. */
function people(): Row[] {
  return Array.from({ length: 90 }, (_, i) => ({ rid: `p${i}`, cat: ['a', 'b', 'c'][i % 3]!, x: (i * 37) % 1000 }));
}

const EXACT = blocked('pb-exact', { minGroupSize: 5 });
// per job: ε on each of two metrics, and ε once more for their shared noisy small-group selection (selection.ts)
const NOISY = blocked('pb-noisy', { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 0.5 } }); // 1.5 per job
const NOISY_BIG = blocked('pb-noisy-big', { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 1 } }); // 3.0 per job
const LISTED = blocked('pb-listed', { minGroupSize: 5 });
const HASHED = blocked('pb-hashed', { minGroupSize: 5 });
const ALIGNED_NOISY = aligned('pb-aligned-noisy', { minGroupSize: 10, noise: { mechanism: 'laplace', epsilon: 0.1 } });
const ALIGNED_EXACT = aligned('pb-aligned-exact', { minGroupSize: 1 });
/** Aligned by private set intersection (no key list). */
const ALIGNED_PSI = {
  ...aligned('pb-aligned-psi', { minGroupSize: 1 }),
  params: {},
  align: { on: { reg: 'rid', pay: 'rid' } },
} as unknown as Scenario;

/** Keys removed before two views are compared: ids, times, durations and the ledger's positions. */
const VOLATILE = new Set(['id', 'job', 'createdAt', 'updatedAt', 'at', 'ms', 'evaluationMs', 'index', 'leafHash']);

/** A JSON value with the volatile keys removed and the job id and the aligned keys replaced by placeholders. */
function scrub(v: Json, jobId: string, keys: string[]): Json {
  if (typeof v === 'string') return v === jobId || v.startsWith(`${jobId}.`) ? '<job>' : keys.includes(v) ? '<key>' : v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, jobId, keys));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, x]) => [k, scrub(x, jobId, keys)]),
    );
  }
  return v;
}

describe('release policy binds every job: noise, budget, scenario allowlist, aligned keys, withheld counts', () => {
  let s: Server;
  let dir: string;
  let provider: string;
  let consumer: string;
  let client: DataspaceClient;
  const versions: Record<string, { version: number; hash: string }> = {};
  const keyCache = new Map<string, SecretKeyset>();

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-policy-'));
    provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'holder' } })).body.token;
    consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'prober' } })).body.token;
    client = new DataspaceClient({ url: s.url, token: consumer });
    for (const sc of [EXACT, NOISY, NOISY_BIG, LISTED, HASHED, ALIGNED_NOISY, ALIGNED_EXACT, ALIGNED_PSI]) {
      const v = validateScenario(sc);
      assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
      const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: sc });
      assert.equal(reg.status, 201, reg.text);
      const shown = await call(s.url, 'GET', `/scenarios/${sc.id}`, { token: provider });
      assert.equal(shown.status, 200, shown.text);
      // the hash a provider lists is the one the broker shows, and anyone can recompute it from the document
      assert.equal(shown.body.hash, scenarioHash(shown.body.document));
      versions[sc.id] = { version: reg.body.version, hash: shown.body.hash };
    }
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function dataset(columns: Record<string, unknown>, rows: Row[], pol: Record<string, unknown>): Promise<string> {
    const reg = await call(s.url, 'POST', '/datasets', {
      token: provider,
      body: { name: 'people', description: 'rows of people', columns, policy: pol },
    });
    assert.equal(reg.status, 201, reg.text);
    const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    return reg.body.id as string;
  }

  async function keysFor(sc: Scenario, params: Record<string, unknown> = {}): Promise<SecretKeyset> {
    const tag = `${sc.id}:${JSON.stringify(Object.values(params).map((p) => (Array.isArray(p) ? p.length : p)))}`;
    const known = keyCache.get(tag);
    if (known) return known;
    const file = join(dir, `${keyCache.size}.keys`);
    await generateKeyFile(file, keyRequirements(sc, params as never));
    const keys = readKeyFile(file);
    await publishKeyset(client, keys);
    keyCache.set(tag, keys);
    return keys;
  }

  async function body(
    sc: Scenario,
    bindings: Record<string, string>,
    params: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    const keys = await keysFor(sc, params);
    return { scenario: sc.id, bindings, keyset: keys.publicKeyset.fingerprint, purpose: PURPOSE, params };
  }

  async function codesOfDryRun(b: Record<string, unknown>): Promise<string[]> {
    const r = await call(s.url, 'POST', '/jobs?dryRun=true', { token: consumer, body: b });
    assert.equal(r.status, 200, r.text);
    return (r.body.decisions as { reasons: { code: string }[] }[]).flatMap((d) => d.reasons.map((x) => x.code));
  }

  const jobCount = async (): Promise<number> => s.dataSource.getRepository(JobEntity).count();
  const spentOn = async (datasetId: string): Promise<number> =>
    (await s.dataSource.getRepository(BudgetEntity).findBy({ datasetId })).reduce((a, b) => a + Number(b.spent), 0);

  async function events(query: string): Promise<Record<string, Json>[]> {
    const r = await call(s.url, 'GET', `/ledger/entries?${query}&limit=1000`, { token: consumer });
    assert.equal(r.status, 200, r.text);
    return (r.body.entries as { event: Record<string, Json> }[]).map((e) => e.event);
  }

  async function eventually<T>(f: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Submits and expects a policy refusal with exactly `codes`; nothing is stored, queued or charged, and the refusal is a ledger event. */
  async function refused(b: Record<string, unknown>, datasetId: string, codes: string[]): Promise<void> {
    const jobs = await jobCount();
    const spent = await spentOn(datasetId);
    const priorRefusals = (await events(`type=job.refused&dataset=${datasetId}`)).length;
    const r = await call(s.url, 'POST', '/jobs', { token: consumer, body: b });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error, 'POLICY_REFUSED');
    assert.deepEqual([...new Set((r.body.details as { code: string }[]).map((d) => d.code))], codes, r.text);
    for (const d of r.body.details as { path: string; message: string }[]) {
      assert.match(d.path, /^\$\.bindings\./);
      assert.ok(d.message.length > 0);
    }
    assert.equal(await jobCount(), jobs, 'nothing stored or queued');
    assert.equal(await spentOn(datasetId), spent, 'nothing charged');
    const ev = await eventually(async () => {
      const list = await events(`type=job.refused&dataset=${datasetId}`);
      return list.length > priorRefusals ? list[list.length - 1] : undefined;
    }, 'the job.refused event');
    const reasons = (ev.data as { reasons: { dataset: string; codes?: string[]; code?: string }[] }).reasons;
    assert.deepEqual([...new Set(reasons.flatMap((x) => x.codes ?? (x.code ? [x.code] : [])))], codes);
  }

  it('noise required: an exact job is refused (dry run and submit), epsilon above the maximum is refused, every noisy job is charged until the budget is spent', async () => {
    // budget for two jobs of pb-noisy (epsilon 0.5 on each of two metrics and on their selection: 1.5 per job); at most 1.5 per job
    const ds = await dataset(col, people(), policy({ epsilonBudget: 3, noise: { required: true, maxEpsilonPerJob: 1.5 } }));
    const exact = await body(EXACT, { p: ds });
    assert.deepEqual(await codesOfDryRun(exact), ['NOISE_REQUIRED']);
    await refused(exact, ds, ['NOISE_REQUIRED']);

    const big = await body(NOISY_BIG, { p: ds });
    assert.deepEqual(await codesOfDryRun(big), ['EPSILON_ABOVE_MAX']);
    await refused(big, ds, ['EPSILON_ABOVE_MAX']);

    const noisy = await body(NOISY, { p: ds });
    const d = await call(s.url, 'POST', '/jobs?dryRun=true', { token: consumer, body: noisy });
    assert.equal(d.body.allow, true, d.text);
    assert.equal(d.body.epsilon, 1.5);
    assert.equal(d.body.counts, 'withheld');
    assert.deepEqual(d.body.decisions[0].release, {
      noiseRequired: true,
      maxEpsilonPerJob: 1.5,
      epsilonBudget: 3,
      epsilonSpent: 0,
      minAlignedKeys: null,
      scenarios: 'any',
    });
    const ids: string[] = [];
    for (let i = 1; i <= 2; i++) {
      const r = await call(s.url, 'POST', '/jobs', { token: consumer, body: noisy });
      assert.equal(r.status, 202, r.text);
      ids.push(r.body.id as string);
      assert.ok(Math.abs((await spentOn(ds)) - 1.5 * i) < 1e-9, `charged ${i} job(s)`);
    }
    await refused(noisy, ds, ['BUDGET_EXHAUSTED']);
    assert.deepEqual(await codesOfDryRun(exact), ['NOISE_REQUIRED'], 'an exact job stays refused for noise, not budget');
    for (const id of ids) {
      const st = await waitForJob(client, id, undefined, 250, 240_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
      // the connector re-checked its own policy against the plan's epsilon and let the job run; counts are withheld
      const doc = await fetchResult(client, id, await keysFor(NOISY));
      assert.deepEqual(doc.meta.rows, {});
      assert.equal(doc.meta.epsilonSpent, 1.5);
    }
    // the dry runs were decisions too, each a ledger event with its reasons
    const dryRuns = await eventually(async () => {
      const l = await events(`type=job.dry-run&dataset=${ds}`);
      return l.length >= 4 ? l : undefined;
    }, 'the dry-run events');
    const decided = dryRuns
      .map((e) => JSON.stringify((e.data as { reasons: { codes: string[] }[] }).reasons.flatMap((x) => x.codes)))
      .sort();
    assert.deepEqual(decided, ['["EPSILON_ABOVE_MAX"]', '["NOISE_REQUIRED"]', '["NOISE_REQUIRED"]', '[]']);
  });

  it('scenario allowlist: a scenario outside it is refused; one inside, by id and version or by hash, runs', async () => {
    const ds = await dataset(
      col,
      people(),
      policy({
        scenarios: [{ id: LISTED.id, version: versions[LISTED.id]!.version }, { hash: versions[HASHED.id]!.hash }],
      }),
    );
    const outside = await body(EXACT, { p: ds });
    assert.deepEqual(await codesOfDryRun(outside), ['SCENARIO_NOT_ALLOWED']);
    await refused(outside, ds, ['SCENARIO_NOT_ALLOWED']);
    for (const sc of [LISTED, HASHED]) {
      const b = await body(sc, { p: ds });
      assert.deepEqual(await codesOfDryRun(b), [], sc.id);
      const r = await call(s.url, 'POST', '/jobs', { token: consumer, body: b });
      assert.equal(r.status, 202, r.text);
      // the connector checks the allowlist too (scenario version and hash from the broker): the job runs
      const st = await waitForJob(client, r.body.id as string, undefined, 250, 240_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
    }
    // a new version of a listed id is another scenario: refused until the provider lists it
    const v2 = await call(s.url, 'POST', '/scenarios', { token: consumer, body: { ...LISTED, title: 'pb-listed, changed' } });
    assert.equal(v2.status, 201, v2.text);
    assert.equal(v2.body.version, versions[LISTED.id]!.version + 1);
    const later = await body(LISTED, { p: ds });
    assert.deepEqual(await codesOfDryRun(later), ['SCENARIO_NOT_ALLOWED']);
    assert.deepEqual(await codesOfDryRun({ ...later, version: versions[LISTED.id]!.version }), []);
  });

  it('minimum aligned keys: a consumer key list below it is refused; one at it is allowed', async () => {
    const rows = people();
    const reg = await dataset(
      { rid: col.rid, cat: col.cat },
      rows.map((r) => ({ rid: r.rid, cat: r.cat })),
      policy({ minGroupSize: 1, minAlignedKeys: 3 }),
    );
    const pay = await dataset(
      { rid: col.rid, x: col.x },
      rows.map((r) => ({ rid: r.rid, x: r.x })),
      policy({ minGroupSize: 1 }),
    );
    const few = await body(ALIGNED_EXACT, { reg, pay }, { keys: ['p1', 'p2'] });
    const r = await call(s.url, 'POST', '/jobs?dryRun=true', { token: consumer, body: few });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.decisions.map((d: { role: string; reasons: { code: string }[] }) => [d.role, d.reasons.map((x) => x.code)]),
      [
        ['reg', ['TOO_FEW_KEYS']],
        ['pay', []],
      ],
    );
    await refused(few, reg, ['TOO_FEW_KEYS']);
    assert.deepEqual(await codesOfDryRun(await body(ALIGNED_EXACT, { reg, pay }, { keys: ['p1', 'p2', 'p3'] })), []);
  });

  it('minimum aligned keys, private set intersection: accepted, then failed with TOO_FEW_KEYS once the intersection is known, naming no size', async () => {
    const rows = Array.from({ length: 170 }, (_, i) => ({ rid: `p${i}`, cat: ['a', 'b', 'c'][i % 3]!, x: (i * 37) % 1000 }));
    // 10 ids in common (p80..p89); the registry's policy asks for 20
    const reg = await dataset(
      { rid: col.rid, cat: col.cat },
      rows.slice(0, 90).map((r) => ({ rid: r.rid, cat: r.cat })),
      policy({ minGroupSize: 1, minAlignedKeys: 20 }),
    );
    const pay = await dataset(
      { rid: col.rid, x: col.x },
      rows.slice(80).map((r) => ({ rid: r.rid, x: r.x })),
      policy({ minGroupSize: 1 }),
    );
    const b = await body(ALIGNED_PSI, { reg, pay });
    assert.deepEqual(await codesOfDryRun(b), [], 'the intersection size is not known at submission');
    const r = await call(s.url, 'POST', '/jobs', { token: consumer, body: b });
    assert.equal(r.status, 202, r.text);
    const st = await waitForJob(client, r.body.id as string, undefined, 250, 240_000);
    assert.equal(st.status, 'failed');
    assert.equal(st.error?.code, 'TOO_FEW_KEYS', JSON.stringify(st.error));
    assert.match(st.error?.message ?? '', /minAlignedKeys 20/);
    assert.doesNotMatch(st.error?.message ?? '', /\b10\b/, 'the failure does not say the intersection size');
    const failed = await eventually(async () => (await events(`job=${String(r.body.id)}&type=job.failed`))[0], 'the job.failed event');
    assert.equal((failed.data as { code: string }).code, 'TOO_FEW_KEYS');
  });

  /** Runs one aligned job and collects everything its consumer can read, apart from the ciphertexts' contents. */
  async function consumerView(sc: Scenario, bindings: Record<string, string>, key: string): Promise<Record<string, Json>> {
    const params = { keys: [key] };
    const r = await call(s.url, 'POST', '/jobs', { token: consumer, body: await body(sc, bindings, params) });
    assert.equal(r.status, 202, r.text);
    const id = r.body.id as string;
    const st = await waitForJob(client, id, undefined, 250, 240_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const status = (await call(s.url, 'GET', `/jobs/${id}`, { token: consumer })).body as Json;
    const listed = ((await call(s.url, 'GET', '/jobs', { token: consumer })).body as { id: string }[]).find((j) => j.id === id) as Json;
    const raw = (await call(s.url, 'GET', `/jobs/${id}/result`, { token: consumer })).body as Record<string, Json>;
    const result = { ...raw, outputs: Object.keys(raw.outputs as Record<string, string>).sort() };
    const decoded = await fetchResult(client, id, await keysFor(sc, params));
    const ledger = await eventually(async () => {
      const l = await events(`job=${id}`);
      return l.filter((e) => e.type === 'result.fetched').length >= 2 ? l : undefined;
    }, "the job's events");
    // two providers' events arrive in either order: compared as a set
    const events_ = ledger.map((e) => scrub(e, id, [key])).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    return {
      ...(scrub({ status, listed, result, decoded: decoded as unknown as Json }, id, [key]) as Record<string, Json>),
      ledger: events_,
    };
  }

  it('membership: with noise required and minGroupSize 10, a job on one key reads the same whether the key is in the data or not', async () => {
    const rows = people();
    const pol = policy({ minGroupSize: 10, epsilonBudget: 10, noise: { required: true, maxEpsilonPerJob: 1 } });
    const reg = await dataset(
      { rid: col.rid, cat: col.cat },
      rows.map((r) => ({ rid: r.rid, cat: r.cat })),
      pol,
    );
    const pay = await dataset(
      { rid: col.rid, x: col.x },
      rows.map((r) => ({ rid: r.rid, x: r.x })),
      pol,
    );
    const present = await consumerView(ALIGNED_NOISY, { reg, pay }, 'p42');
    const absent = await consumerView(ALIGNED_NOISY, { reg, pay }, 'p999');
    assert.deepEqual(present, absent);
    // and what it reads holds no count: not in the result's metadata, the job's progress or the usage events
    const meta = (present.result as Record<string, Json>).meta as Record<string, Json>;
    assert.equal(meta.rows, undefined);
    assert.equal(meta.missingKeys, undefined);
    assert.deepEqual(meta.withheld, ['rows', 'missingKeys']);
    const providers = ((present.status as Record<string, Json>).progress as Record<string, Json>).providers as Record<
      string,
      Record<string, Json>
    >;
    for (const p of Object.values(providers)) for (const k of ['rows', 'missingKeys', 'bytes']) assert.equal(p[k], undefined, k);
    for (const e of present.ledger as Record<string, Json>[]) {
      const data = (e.data ?? {}) as Record<string, Json>;
      for (const k of ['rows', 'missingKeys']) assert.equal(data[k], undefined, `${String(e.type)}.${k}`);
    }
    // the SDK decodes without the counts
    const decoded = present.decoded as { meta: { rows: Json; missingKeys: Json }; metrics: Record<string, Json> };
    assert.deepEqual(decoded.meta.rows, {});
    assert.ok('paid' in decoded.metrics);
  });

  /** One role, one ungrouped sum over the rows at or under a public threshold `t`: moving t past one row isolates it. */
  function threshold(id: string, release: Record<string, unknown>): Scenario {
    return {
      id,
      title: id,
      sector: 'test',
      description: 'policy binding test, differencing',
      inputs: { p: { description: 'rows', columns: col } },
      params: { t: { type: 'number', description: 'the threshold' } },
      metrics: [{ name: 'total', agg: 'sum', of: 'p.x', where: { le: ['p.x', '$params.t'] }, description: 'x at or under t' }],
      release,
    } as unknown as Scenario;
  }

  it('differencing: two exact jobs one row apart cannot both run where noise is required; where it is not, their difference is the row (the test can tell)', async () => {
    // 180 rows, x = 5·i: t = 500 and t = 505 differ by exactly the row with x = 505. Over 100 rows are at or under
    // either t, far above the noisy small-group selection's threshold (about 46 at ε 0.5, δ 1e-9): with 51 rows (an
    // earlier version of this test) the noisy release was suppressed in about one run in ten and read as null.
    const rows = Array.from({ length: 180 }, (_, i) => ({ rid: `p${i}`, cat: ['a', 'b', 'c'][i % 3]!, x: 5 * i }));
    const exactSc = threshold('pb-diff-exact', { minGroupSize: 5 });
    const noisySc = threshold('pb-diff-noisy', { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 0.5 } });
    for (const sc of [exactSc, noisySc]) {
      const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: sc });
      assert.equal(reg.status, 201, reg.text);
    }
    const run = async (b: Record<string, unknown>, sc: Scenario, params: Record<string, unknown>): Promise<number> => {
      const r = await call(s.url, 'POST', '/jobs', { token: consumer, body: b });
      assert.equal(r.status, 202, r.text);
      const st = await waitForJob(client, r.body.id as string, undefined, 250, 240_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
      const doc = await fetchResult(client, r.body.id as string, await keysFor(sc, params));
      return doc.metrics.total as number;
    };

    // control: a policy without required noise lets both exact jobs run, and subtracting them gives the row back
    const open = await dataset(col, rows, policy());
    const below = await run(await body(exactSc, { p: open }, { t: 500 }), exactSc, { t: 500 });
    const above = await run(await body(exactSc, { p: open }, { t: 505 }), exactSc, { t: 505 });
    assert.equal(Math.round(above - below), 505, 'the differencing attack works where the policy allows exact jobs');

    // noise required: neither exact job runs (dry run and submit), nothing stored or charged
    // a noisy job costs 1: 0.5 for the sum, 0.5 for the noisy small-group selection of its one group
    const held = await dataset(col, rows, policy({ epsilonBudget: 2, noise: { required: true, maxEpsilonPerJob: 1 } }));
    for (const t of [500, 505]) {
      const b = await body(exactSc, { p: held }, { t });
      assert.deepEqual(await codesOfDryRun(b), ['NOISE_REQUIRED']);
      await refused(b, held, ['NOISE_REQUIRED']);
    }
    // the same two questions with noise: both run, each charged its epsilon; a third is refused for budget
    const n1 = await run(await body(noisySc, { p: held }, { t: 500 }), noisySc, { t: 500 });
    const n2 = await run(await body(noisySc, { p: held }, { t: 505 }), noisySc, { t: 505 });
    assert.ok(Math.abs((await spentOn(held)) - 2) < 1e-9, 'each noisy job charged 1');
    await refused(await body(noisySc, { p: held }, { t: 520 }), held, ['BUDGET_EXHAUSTED']);
    // the difference carries the noise of both releases (scale 1000/0.5 each), not the row
    assert.ok(Number.isFinite(n1) && Number.isFinite(n2));
    assert.notEqual(n2 - n1, 505);
  });

  it('control: without noise or a minimum group size the same probe reads membership from the metadata (the test can tell)', async () => {
    const rows = people();
    const pol = policy({ minGroupSize: 1 });
    const reg = await dataset(
      { rid: col.rid, cat: col.cat },
      rows.map((r) => ({ rid: r.rid, cat: r.cat })),
      pol,
    );
    const pay = await dataset(
      { rid: col.rid, x: col.x },
      rows.map((r) => ({ rid: r.rid, x: r.x })),
      pol,
    );
    const present = await consumerView(ALIGNED_EXACT, { reg, pay }, 'p42');
    const absent = await consumerView(ALIGNED_EXACT, { reg, pay }, 'p999');
    const metaOf = (v: Record<string, Json>): Record<string, Json> => (v.result as Record<string, Json>).meta as Record<string, Json>;
    assert.deepEqual(metaOf(present).rows, { reg: 1, pay: 1 });
    assert.deepEqual(metaOf(absent).rows, { reg: 0, pay: 0 });
    assert.deepEqual(metaOf(present).missingKeys, { reg: 0, pay: 0 });
    assert.deepEqual(metaOf(absent).missingKeys, { reg: 1, pay: 1 });
    assert.notDeepEqual(present, absent);
  });
});
