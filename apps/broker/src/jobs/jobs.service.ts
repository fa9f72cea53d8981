import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, In } from 'typeorm';
import {
  ACTIVE_JOB_STATUSES,
  AppError,
  type ErrorDetail,
  INITIAL_JOB_STATUS,
  type JobProgress,
  type JobStatus,
  type Principal,
} from '#contracts';
import { paramsId as heParamsId } from '#he-core';
import { transition } from '#jobs';
import {
  forUpdate,
  BudgetEntity,
  JobCiphertextEntity,
  JobDatasetEntity,
  JobEntity,
  OfferEntity,
  inTransaction,
  purgeJobCiphertexts,
} from '#persistence';
import { type AppConfig, CONFIG, LedgerRecorder, parseInput } from '#platform';
import { type PolicyDecision, type ScenarioIdentity, decide, scenarioHash, withholdsCounts } from '#policy';
import {
  type Plan,
  type Scenario,
  aggregationsByRole,
  compilePlan,
  costEstimate,
  validateBindingSchema,
  validateParams,
  validateScenario,
} from '#scenario';
import { KeysetsService } from '../keysets/keysets.service.js';
import { ScenarioRegistry } from '../scenarios/scenario-registry.service.js';
import { type SubmitJob, submitJobSchema } from './jobs.dto.js';
import { JobOrchestrator } from './job-orchestrator.service.js';
import { clearPsi } from '../connector/connector-gateway.service.js';

export interface DatasetDecision {
  role: string;
  dataset: string;
  allow: boolean;
  reasons: PolicyDecision['reasons'];
  /** What the dataset's policy asks of a job's release, as decided (shown by the dry run). */
  release: {
    noiseRequired: boolean;
    maxEpsilonPerJob: number | null;
    epsilonBudget: number | null;
    epsilonSpent: number;
    minAlignedKeys: number | null;
    scenarios: 'any' | 'listed';
  };
}

export interface PreparedJob {
  input: SubmitJob;
  scenario: Scenario;
  version: number;
  plan: Plan;
  offers: Record<string, OfferEntity>;
  decisions: DatasetDecision[];
  estimate: unknown;
  /**
   * Whether the consumer is denied exact row and missing-key counts: a bound dataset's policy (`withholdsCounts`),
   * or a plan with noise (`plan.epsilon > 0`).
   */
  countsWithheld: boolean;
}

/** Validation codes of the cost bounds (metrics, released values, groups). */
const COST_CODES: ReadonlySet<string> = new Set(['too_many_metrics', 'too_many_outputs', 'too_many_groups']);

function utcDay(d = new Date()): string {
  return d.toISOString().slice(0, 10);
}

/** PostgreSQL advisory lock key serializing job admissions (any fixed 64-bit value; "dsadmit" in ASCII). */
const ADMISSION_LOCK = '28274359804979572';

@Injectable()
export class JobsService {
  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
    private readonly scenarios: ScenarioRegistry,
    private readonly keysets: KeysetsService,
    private readonly orchestrator: JobOrchestrator,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {}

  /** Everything a job needs checked before it may run: scenario, bindings, params, plan, keyset, policies. */
  async prepare(body: unknown, consumer: Principal, opts: { dryRun?: boolean } = {}): Promise<PreparedJob> {
    const input = parseInput(submitJobSchema, body, 'job submission');
    const sv = await this.scenarios.get(input.scenario, input.version);
    const scenario = sv.scenario;
    const details: ErrorDetail[] = [];
    // Cost ceiling, first of all: a stored version over the validation's bounds on metrics and released values
    // (one registered before they existed) is refused before anything is compiled.
    const bounds = validateScenario(scenario);
    const over = bounds.ok ? [] : bounds.errors.filter((e) => COST_CODES.has(e.code));
    if (over.length) {
      throw new AppError(
        'PLAN_REFUSED',
        'the scenario is over the cost ceiling',
        over.map((e) => ({ path: `$scenario${e.path.replace(/\//g, '.')}`, code: 'cost_ceiling', message: e.message })),
      );
    }

    // Bindings: every role bound exactly once, to a catalogued dataset with a compatible schema.
    const roles = Object.keys(scenario.inputs);
    for (const r of roles)
      if (!(r in input.bindings))
        details.push({ path: `$.bindings.${r}`, code: 'missing_binding', message: `role ${r} is not bound to a dataset` });
    for (const r of Object.keys(input.bindings))
      if (!roles.includes(r))
        details.push({ path: `$.bindings.${r}`, code: 'unknown_role', message: `scenario ${scenario.id} has no role ${r}` });
    if (details.length) throw new AppError('VALIDATION_FAILED', 'bindings do not match the scenario roles', details);
    const ids = [...new Set(Object.values(input.bindings))];
    const found = await this.ds.getRepository(OfferEntity).findBy({ datasetId: In(ids) });
    const offerById = new Map(found.map((o) => [o.datasetId, o]));
    const offers: Record<string, OfferEntity> = {};
    for (const r of roles) {
      const o = offerById.get(input.bindings[r]!);
      if (!o) {
        details.push({ path: `$.bindings.${r}`, code: 'unknown_dataset', message: `no dataset ${input.bindings[r]} in the catalog` });
        continue;
      }
      offers[r] = o;
      for (const i of validateBindingSchema(scenario, r, o.columns)) {
        details.push({ path: `$.bindings.${r}${i.path ? ' ' + i.path : ''}`, code: i.code, message: i.message });
      }
    }
    if (details.some((d) => d.code === 'unknown_dataset'))
      throw new AppError('NOT_FOUND', 'a bound dataset is not in the catalog', details);
    if (details.length) throw new AppError('SCHEMA_MISMATCH', 'a bound dataset does not have the columns the scenario needs', details);

    // Private parameters never arrive in the clear: a value given for one is refused, and validation sees
    // an opaque marker in its place; their ciphertexts arrive in privateParams, as the plan names them.
    const privateNames = Object.entries(scenario.params ?? {})
      .filter(([, p]) => p.private === true)
      .map(([n]) => n);
    for (const n of privateNames) {
      if (n in input.params)
        details.push({
          path: `$.params.${n}`,
          code: 'private_param_in_clear',
          message: `${n} is private: send it encrypted (the SDK and CLI do), never as a value`,
        });
    }
    if (details.length) throw new AppError('VALIDATION_FAILED', 'a private parameter was sent in the clear', details);
    const marked = { ...input.params, ...Object.fromEntries(privateNames.map((n) => [n, 'encrypted'])) };
    const pv = validateParams(scenario, marked, { privateValues: 'encrypted' });
    if (!pv.ok)
      throw new AppError(
        'VALIDATION_FAILED',
        'invalid parameters',
        pv.errors.map((e) => ({ path: `$.params${e.path ? '/' + e.path.replace(/^\//, '') : ''}`, code: e.code, message: e.message })),
      );
    const values = Object.fromEntries(Object.entries(pv.values).filter(([k]) => !privateNames.includes(k)));

    const rowCounts = Object.fromEntries(roles.map((r) => [r, offers[r]!.rowCount]));
    const compiled = compilePlan(scenario, values, { rowCounts });
    if (!compiled.ok)
      throw new AppError(
        'PLAN_REFUSED',
        'the scenario cannot be planned with these inputs',
        compiled.errors.map((e) => ({ path: e.path, code: e.code, message: e.message })),
      );
    const plan = compiled.plan;
    // ... and a plan whose estimated cost is over the configured maximum, before keys, policies or storage.
    const estimate = costEstimate(plan, rowCounts);
    if (estimate.estimatedSeconds > this.cfg.MAX_JOB_SECONDS) {
      throw new AppError('PLAN_REFUSED', 'the job is over the cost ceiling', [
        {
          path: '$',
          code: 'cost_ceiling',
          message: `estimated ${estimate.estimatedSeconds.toFixed(1)} s of HE work; at most ${this.cfg.MAX_JOB_SECONDS} s are allowed (MAX_JOB_SECONDS)`,
        },
      ]);
    }
    for (const p of plan.privateInputs) {
      if (!opts.dryRun && !(p.name in input.privateParams))
        details.push({
          path: `$.privateParams.${p.name}`,
          code: 'missing_private_param',
          message: `the encrypted private parameter ${p.name} (${p.param}) is required`,
        });
    }
    for (const k of Object.keys(input.privateParams)) {
      if (!plan.privateInputs.some((p) => p.name === k))
        details.push({ path: `$.privateParams.${k}`, code: 'unknown_private_param', message: `the plan has no private input ${k}` });
    }
    if (details.length) throw new AppError('VALIDATION_FAILED', 'private parameters do not match the plan', details);

    // Keyset: the consumer's own, with the plan's parameters, rotation steps and relinearisation keys.
    const ks = await this.keysets.get(input.keyset);
    if (ks.consumerId !== consumer.id) throw new AppError('FORBIDDEN', 'the keyset belongs to another participant');
    const want = heParamsId(plan.params);
    if (ks.paramsId !== want)
      details.push({
        path: '$.keyset',
        code: 'params_mismatch',
        message: `the plan needs parameters ${want}; the keyset has ${ks.paramsId}`,
      });
    const missing = plan.galoisSteps.filter((s) => !ks.galoisSteps.includes(s));
    if (missing.length)
      details.push({
        path: '$.keyset',
        code: 'missing_galois_steps',
        message: `the keyset lacks rotation keys for steps ${missing.join(', ')}`,
      });
    if (details.length)
      throw new AppError(
        'KEYSET_MISMATCH',
        'the keyset does not fit the plan: generate keys for this scenario (dataspace keys generate)',
        details,
      );

    const identity: ScenarioIdentity = { id: scenario.id, version: sv.version, hash: scenarioHash(scenario) };
    const decisions = await this.decide(scenario, identity, plan, input, offers, consumer);
    // A noisy plan withholds them too, whatever the policies say: an exact count beside a noisy release (and
    // beside the noisy small-group selection) would undo its differential privacy (README, threat model).
    const countsWithheld = plan.epsilon > 0 || Object.values(offers).some((o) => withholdsCounts(o.policy));
    return { input, scenario, version: sv.version, plan, offers, decisions, estimate, countsWithheld };
  }

  private async decide(
    s: Scenario,
    identity: ScenarioIdentity,
    plan: Plan,
    input: SubmitJob,
    offers: Record<string, OfferEntity>,
    consumer: Principal,
  ): Promise<DatasetDecision[]> {
    const aggs = aggregationsByRole(s);
    const rowLevel = s.release?.rowLevel === true;
    const minGroupSize = s.release?.minGroupSize ?? 1;
    const out: DatasetDecision[] = [];
    for (const [role, o] of Object.entries(offers)) {
      const spent = await this.ds.getRepository(BudgetEntity).findOneBy({ datasetId: o.datasetId, consumerId: consumer.id });
      const jobsToday = await this.ds
        .getRepository(JobDatasetEntity)
        .createQueryBuilder('jd')
        .innerJoin(JobEntity, 'j', 'j.id = jd.job_id')
        .where('jd.dataset_id = :d AND j.consumer_id = :c AND j.day = :day', { d: o.datasetId, c: consumer.id, day: utcDay() })
        .getCount();
      const d = decide(
        o.policy,
        {
          consumerId: consumer.id,
          consumerName: consumer.name,
          purpose: input.purpose,
          aggregations: aggs[role] ?? [],
          rowLevel,
          minGroupSize,
          epsilon: plan.epsilon,
          scenario: identity,
          // a consumer key list is counted now; a private set intersection when the broker intersects (ConnectorGateway)
          // roles: joint groups across providers exist when two or more roles are aligned (ALIGNED_NOISE_REQUIRED)
          ...(plan.align && plan.align.on[role] !== undefined
            ? { alignment: { keys: plan.align.keys?.length ?? null, roles: Object.keys(plan.align.on).length } }
            : {}),
        },
        { epsilonSpent: spent?.spent ?? 0, jobsToday },
        new Date(),
      );
      const pol = o.policy;
      out.push({
        role,
        dataset: o.datasetId,
        allow: d.allow,
        reasons: d.reasons,
        release: {
          noiseRequired: pol.noise?.required === true,
          maxEpsilonPerJob: pol.noise?.maxEpsilonPerJob ?? null,
          epsilonBudget: pol.epsilonBudget ?? null,
          epsilonSpent: spent?.spent ?? 0,
          minAlignedKeys: pol.minAlignedKeys ?? null,
          scenarios: pol.scenarios ? 'listed' : 'any',
        },
      });
    }
    return out;
  }

  async dryRun(body: unknown, consumer: Principal): Promise<unknown> {
    const p = await this.prepare(body, consumer, { dryRun: true });
    await this.ledger.record({
      type: 'job.dry-run',
      actor: { id: consumer.id, role: consumer.role },
      scenario: p.scenario.id,
      consumer: consumer.id,
      purpose: p.input.purpose,
      datasets: Object.values(p.input.bindings),
      data: { allow: p.decisions.every((d) => d.allow), reasons: reasonCodes(p.decisions) },
    });
    return {
      dryRun: true,
      scenario: p.scenario.id,
      version: p.version,
      hash: scenarioHash(p.scenario),
      allow: p.decisions.every((d) => d.allow),
      decisions: p.decisions,
      epsilon: p.plan.epsilon,
      counts: p.countsWithheld ? 'withheld' : 'exact',
      estimate: p.estimate,
      plan: p.plan,
    };
  }

  /**
   * Accepts a job: checks it, charges the privacy budget atomically, records it and stores it in one transaction,
   * then queues its flow. A refusal is recorded too, with every reason.
   */
  async submit(body: unknown, consumer: Principal, idempotencyKey?: string): Promise<{ id: string; status: JobStatus; created: boolean }> {
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1-200 visible ASCII characters', [
        { path: '$header.idempotency-key', message: 'invalid' },
      ]);
    }
    if (idempotencyKey) {
      const prior = await this.ds.getRepository(JobEntity).findOneBy({ consumerId: consumer.id, idempotencyKey });
      if (prior) return { id: prior.id, status: prior.status, created: false };
    }
    // cheap refusal under load, before the plan is compiled; the check inside the transaction below decides
    const early = await this.admissionRefusal(this.ds.manager, consumer.id);
    if (early) throw early;
    const p = await this.prepare(body, consumer);
    const id = randomUUID();
    const datasets = Object.values(p.input.bindings);
    const base = {
      actor: { id: consumer.id, role: consumer.role },
      job: id,
      scenario: p.scenario.id,
      consumer: consumer.id,
      purpose: p.input.purpose,
      datasets,
    };
    if (!p.decisions.every((d) => d.allow)) {
      await this.ledger.record({ ...base, id: `${id}.refused`, type: 'job.refused', data: { reasons: reasonCodes(p.decisions) } });
      throw new AppError(
        'POLICY_REFUSED',
        'the usage policy of a bound dataset refuses this job',
        p.decisions.flatMap((d) =>
          d.reasons.map((r) => ({ path: `$.bindings.${d.role}`, code: r.code, message: r.message, dataset: d.dataset })),
        ),
      );
    }
    const result = await inTransaction(this.ds, async (m) => {
      if (m.connection.options.type === 'postgres') await m.query('SELECT pg_advisory_xact_lock($1)', [ADMISSION_LOCK]);
      const busy = await this.admissionRefusal(m, consumer.id);
      if (busy) return { refused: null, busy };
      const budgetRefusals: ErrorDetail[] = [];
      if (p.plan.epsilon > 0) {
        for (const [role, o] of Object.entries(p.offers)) {
          const budget = o.policy.epsilonBudget;
          if (budget === null || budget === undefined) continue;
          await m
            .createQueryBuilder()
            .insert()
            .into(BudgetEntity)
            .values({ datasetId: o.datasetId, consumerId: consumer.id, spent: 0 })
            .orIgnore()
            .execute();
          // Guarded update: concurrent jobs can never overspend (the row is locked by the UPDATE in PostgreSQL,
          // and SQLite has a single writer).
          const r = await m
            .createQueryBuilder()
            .update(BudgetEntity)
            .set({ spent: () => `spent + ${Number(p.plan.epsilon)}` })
            .where('dataset_id = :d AND consumer_id = :c AND spent + :e <= :b', {
              d: o.datasetId,
              c: consumer.id,
              e: p.plan.epsilon,
              b: budget,
            })
            .execute();
          if (!r.affected)
            budgetRefusals.push({
              path: `$.bindings.${role}`,
              code: 'BUDGET_EXHAUSTED',
              message: `the privacy budget of dataset ${o.datasetId} cannot cover epsilon ${p.plan.epsilon}`,
              dataset: o.datasetId,
            });
        }
      }
      if (budgetRefusals.length) return { refused: budgetRefusals, busy: null };
      await m.getRepository(JobEntity).insert({
        id,
        scenarioId: p.scenario.id,
        scenarioVersion: p.version,
        consumerId: consumer.id,
        keysetId: p.input.keyset,
        purpose: p.input.purpose,
        bindings: p.input.bindings,
        params: p.input.params,
        plan: p.plan,
        status: INITIAL_JOB_STATUS,
        progress: initialProgress(p),
        error: null,
        resultMeta: null,
        epsilon: p.plan.epsilon,
        idempotencyKey: idempotencyKey ?? null,
        day: utcDay(),
      });
      await m
        .getRepository(JobDatasetEntity)
        .insert(Object.entries(p.offers).map(([role, o]) => ({ jobId: id, role, datasetId: o.datasetId, status: 'pending', meta: null })));
      for (const [name, b64] of Object.entries(p.input.privateParams)) {
        await m
          .getRepository(JobCiphertextEntity)
          .insert({ jobId: id, kind: 'params', role: '', feature: name, chunk: 0, blob: Buffer.from(b64, 'base64') });
      }
      // Last in the transaction: only a job whose rows went in is recorded; a ledger failure rolls them back.
      await this.ledger.record({
        ...base,
        id: `${id}.submitted`,
        type: 'job.submitted',
        data: { version: p.version, keyset: p.input.keyset, epsilon: p.plan.epsilon, bindings: p.input.bindings },
      });
      return { refused: null, busy: null };
    });
    if (result.busy) throw result.busy;
    if (result.refused) {
      await this.ledger.record({
        ...base,
        id: `${id}.refused`,
        type: 'job.refused',
        data: { reasons: result.refused.map((r) => ({ dataset: r.dataset, code: r.code })) },
      });
      throw new AppError('POLICY_REFUSED', 'the privacy budget of a bound dataset is exhausted', result.refused);
    }
    // Accepted and stored: if Redis is down right now, the reconciler queues it later; nothing is lost.
    await this.orchestrator.enqueue(id).catch(() => undefined);
    return { id, status: INITIAL_JOB_STATUS, created: true };
  }

  /**
   * Admission control (backpressure): the accepted jobs that have not ended (queued or running), this consumer's
   * and all of them, against MAX_ACTIVE_JOBS_PER_CONSUMER and MAX_ACTIVE_JOBS. Run before the plan is compiled
   * (a cheap refusal under load) and again inside the transaction that stores the job, which decides: there an
   * advisory transaction lock serializes admissions in PostgreSQL (SQLite has one writer), so two concurrent
   * submissions cannot both take the last place. A refusal stores, queues and charges nothing; the data space's
   * total is not disclosed to the consumer, only that it is full.
   */
  private async admissionRefusal(m: EntityManager, consumerId: string): Promise<AppError | null> {
    const jobs = m.getRepository(JobEntity);
    const active = { status: In([...ACTIVE_JOB_STATUSES]) };
    const mine = await jobs.count({ where: { ...active, consumerId } });
    const retry = this.cfg.ADMISSION_RETRY_SECONDS;
    if (mine >= this.cfg.MAX_ACTIVE_JOBS_PER_CONSUMER) {
      return new AppError(
        'TOO_MANY_JOBS',
        `this consumer already has ${mine} jobs queued or running, the most it may have (MAX_ACTIVE_JOBS_PER_CONSUMER); retry when one has ended`,
        [
          {
            path: '$',
            code: 'CONSUMER_JOB_LIMIT',
            message: `at most ${this.cfg.MAX_ACTIVE_JOBS_PER_CONSUMER} jobs queued or running per consumer`,
          },
        ],
        retry,
      );
    }
    if ((await jobs.count({ where: active })) >= this.cfg.MAX_ACTIVE_JOBS) {
      return new AppError(
        'TOO_MANY_JOBS',
        'the data space has as many jobs queued or running as it accepts (MAX_ACTIVE_JOBS); retry later',
        [{ path: '$', code: 'QUEUE_FULL', message: 'the job queue is full' }],
        retry,
      );
    }
    return null;
  }

  async get(id: string, who: Principal): Promise<JobEntity> {
    const j = await this.ds.getRepository(JobEntity).findOneBy({ id });
    if (!j || (who.role === 'consumer' && j.consumerId !== who.id)) throw new AppError('NOT_FOUND', `no job ${id}`);
    return j;
  }

  async list(who: Principal): Promise<JobEntity[]> {
    // Without the plans: a list shows none of them, and reading and parsing 200 of them made it slow.
    return this.ds.getRepository(JobEntity).find({
      select: {
        id: true,
        scenarioId: true,
        scenarioVersion: true,
        consumerId: true,
        keysetId: true,
        purpose: true,
        bindings: true,
        status: true,
        progress: true,
        error: true,
        epsilon: true,
        resultMeta: true,
        createdAt: true,
        updatedAt: true,
      },
      where: who.role === 'consumer' ? { consumerId: who.id } : {},
      order: { createdAt: 'DESC' },
      take: 200,
    });
  }

  async cancel(id: string, who: Principal): Promise<JobEntity> {
    const j = await this.get(id, who);
    if (!ACTIVE_JOB_STATUSES.includes(j.status)) throw new AppError('CONFLICT', `job ${id} is already ${j.status}`);
    await inTransaction(this.ds, async (m) => {
      // locked on PostgreSQL (as the connector gateway locks it), so the transition is checked against the state it replaces
      const current = await m.getRepository(JobEntity).findOneOrFail({ where: { id }, ...forUpdate(m) });
      await m.getRepository(JobEntity).update({ id }, transition(current, 'cancelled'));
      await clearPsi(m, id);
      await this.ledger.record({
        id: `${id}.cancelled`,
        type: 'job.cancelled',
        actor: { id: who.id, role: who.role },
        job: id,
        scenario: j.scenarioId,
        consumer: j.consumerId,
        datasets: Object.values(j.bindings),
      });
    });
    await this.orchestrator.remove(id).catch(() => undefined);
    // whatever was uploaded for the job goes with it (an upload racing the cancel is refused: JOB_NOT_RUNNING)
    await inTransaction(this.ds, (m) => purgeJobCiphertexts(m, id, { keepResult: false }));
    return this.get(id, who);
  }

  /** The encrypted result and its decoding plan, for the consumer who submitted the job. */
  async result(id: string, who: Principal): Promise<unknown> {
    const j = await this.get(id, who);
    if (who.role !== 'consumer' || j.consumerId !== who.id)
      throw new AppError('FORBIDDEN', 'only the consumer who submitted a job can fetch its result');
    if (j.status !== 'completed')
      throw new AppError('NOT_READY', `job ${id} is ${j.status}`, j.error ? [{ code: j.error.code, message: j.error.message }] : []);
    // Past its retention a result is gone, whether or not the sweep (JobOrchestrator.expireResults, the same cutoff)
    // has run yet: what is left of it is deleted here. Told by time, not by an empty output list: a job whose every
    // output was withheld completes with none.
    if (j.updatedAt.getTime() < Date.now() - this.cfg.RESULT_RETENTION_MS) {
      await inTransaction(this.ds, (m) => purgeJobCiphertexts(m, id, { keepResult: false }));
      throw new AppError(
        'RESULT_EXPIRED',
        `the result of job ${id} was deleted after its retention period (${this.cfg.RESULT_RETENTION_MS} ms)`,
      );
    }
    const outs = await this.ds
      .getRepository(JobCiphertextEntity)
      .find({ where: { jobId: id, kind: 'result' }, order: { feature: 'ASC', chunk: 'ASC' } });
    await this.ledger.record({
      type: 'result.fetched',
      actor: { id: who.id, role: who.role },
      job: id,
      scenario: j.scenarioId,
      consumer: j.consumerId,
      datasets: Object.values(j.bindings),
      data: { outputs: outs.length },
    });
    return {
      job: id,
      scenario: j.scenarioId,
      version: j.scenarioVersion,
      keyset: j.keysetId,
      plan: j.plan,
      meta: j.resultMeta,
      outputs: Object.fromEntries(outs.map((o) => [o.feature, Buffer.from(o.blob).toString('base64')])),
    };
  }
}

function initialProgress(p: PreparedJob): JobProgress {
  return {
    stage: 'queued',
    providers: Object.fromEntries(
      Object.entries(p.offers).map(([role, o]) => [
        role,
        { dataset: o.datasetId, status: 'pending', ...(p.countsWithheld ? {} : { rows: o.rowCount }) },
      ]),
    ),
    evaluation: { status: 'pending' },
    // read by the connector gateway (progress reports) and the evaluation (result metadata): README, threat model
    ...(p.countsWithheld ? { counts: 'withheld' } : {}),
  };
}

function reasonCodes(ds: DatasetDecision[]): { dataset: string; role: string; codes: string[] }[] {
  return ds.filter((d) => !d.allow).map((d) => ({ dataset: d.dataset, role: d.role, codes: d.reasons.map((r) => r.code) }));
}
