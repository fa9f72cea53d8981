import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { ACTIVE_JOB_STATUSES, AppError, type ErrorDetail, type Principal } from '#contracts';
import { paramsId as heParamsId } from '#he-core';
import { JobOrchestrator } from '#job-flow';
import { transition } from '#jobs';
import { forUpdate, BudgetEntity, JobCiphertextEntity, JobEntity, OfferEntity, inTransaction, purgeJobCiphertexts } from '#persistence';
import { type AppConfig, CONFIG, LedgerRecorder, parseInput } from '#platform';
import { type ScenarioIdentity, decide, scenarioHash, withholdsCounts } from '#policy';
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
import { type SubmitJob as SubmitJobInput, submitJobSchema } from './jobs.dto.js';
import { type DatasetDecision, type PreparedJob, SubmitJob, type Submitted, reasonCodes } from './submit-job.js';
import { TypeOrmSubmissionStore, jobsToday } from './submission-store.js';
import { clearPsi } from '../connector/connector-gateway.service.js';

/** Validation codes of the cost bounds (metrics, released values, groups). */
const COST_CODES: ReadonlySet<string> = new Set(['too_many_metrics', 'too_many_outputs', 'too_many_groups']);

function utcDay(d = new Date()): string {
  return d.toISOString().slice(0, 10);
}

@Injectable()
export class JobsService {
  private readonly submitJob: SubmitJob;

  constructor(
    private readonly ds: DataSource,
    private readonly ledger: LedgerRecorder,
    private readonly scenarios: ScenarioRegistry,
    private readonly keysets: KeysetsService,
    private readonly orchestrator: JobOrchestrator,
    @Inject(CONFIG) private readonly cfg: AppConfig,
  ) {
    this.submitJob = new SubmitJob({
      store: new TypeOrmSubmissionStore(ds),
      prepare: (body, consumer) => this.prepare(body, consumer),
      ledger,
      enqueue: (id) => orchestrator.enqueue(id),
      limits: {
        maxActiveJobsPerConsumer: cfg.MAX_ACTIVE_JOBS_PER_CONSUMER,
        maxActiveJobs: cfg.MAX_ACTIVE_JOBS,
        retrySeconds: cfg.ADMISSION_RETRY_SECONDS,
      },
    });
  }

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
    input: SubmitJobInput,
    offers: Record<string, OfferEntity>,
    consumer: Principal,
  ): Promise<DatasetDecision[]> {
    const aggs = aggregationsByRole(s);
    const rowLevel = s.release?.rowLevel === true;
    const minGroupSize = s.release?.minGroupSize ?? 1;
    const out: DatasetDecision[] = [];
    for (const [role, o] of Object.entries(offers)) {
      const spent = await this.ds.getRepository(BudgetEntity).findOneBy({ datasetId: o.datasetId, consumerId: consumer.id });
      const today = await jobsToday(this.ds.manager, o.datasetId, consumer.id, utcDay());
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
        { epsilonSpent: spent?.spent ?? 0, jobsToday: today },
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

  /** Accepts a job or refuses it with every reason (the submit-job use case, submit-job.ts). */
  submit(body: unknown, consumer: Principal, idempotencyKey?: string): Promise<Submitted> {
    return this.submitJob.run(body, consumer, idempotencyKey);
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
