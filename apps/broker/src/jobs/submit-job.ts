import { randomUUID } from 'node:crypto';
import {
  AppError,
  type ErrorDetail,
  INITIAL_JOB_STATUS,
  type JobParams,
  type JobProgress,
  type JobStatus,
  type Principal,
  type UsageEvent,
} from '#contracts';
import { type PolicyDecision, type UsagePolicy, dailyLimitReason } from '#policy';
import type { Plan, Scenario } from '#scenario';
import type { SubmitJob as SubmitJobInput } from './jobs.dto.js';

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

/** The catalog offer a role is bound to, as submission needs it. */
export interface BoundOffer {
  datasetId: string;
  rowCount: number;
  policy: UsagePolicy;
}

/** A submission checked against its scenario, bindings, parameters, keyset and the bound datasets' policies. */
export interface PreparedJob {
  input: SubmitJobInput;
  scenario: Scenario;
  version: number;
  plan: Plan;
  offers: Record<string, BoundOffer>;
  decisions: DatasetDecision[];
  estimate: unknown;
  /**
   * Whether the consumer is denied exact row and missing-key counts: a bound dataset's policy (`withholdsCounts`),
   * or a plan with noise (`plan.epsilon > 0`).
   */
  countsWithheld: boolean;
}

/** A job as submission stores it: the row, its bound datasets and the consumer's encrypted private parameters. */
export interface NewJob {
  id: string;
  scenarioId: string;
  scenarioVersion: number;
  consumerId: string;
  keysetId: string;
  purpose: string;
  bindings: Record<string, string>;
  params: JobParams;
  plan: Plan;
  status: JobStatus;
  progress: JobProgress;
  epsilon: number;
  idempotencyKey: string | null;
  day: string;
  datasets: { role: string; datasetId: string }[];
  privateParams: Record<string, Uint8Array>;
}

/** Accepted jobs that have not ended (queued or running): the consumer's own and the data space's. */
export interface ActiveJobs {
  mine: number;
  all: number;
}

/** What submission does inside its one transaction (submission-store.ts: TypeORM). */
export interface AdmissionTx {
  activeJobs(consumerId: string): Promise<ActiveJobs>;
  /**
   * Adds `epsilon` to what the consumer spent of the dataset's budget, unless that would pass `budget`: false then,
   * and nothing is charged. Concurrent charges never overspend.
   */
  chargeBudget(datasetId: string, consumerId: string, epsilon: number, budget: number): Promise<boolean>;
  /** The consumer's jobs stored for `day` that bind the dataset (one per bound role), as the policy decision counts them. */
  jobsToday(datasetId: string, consumerId: string, day: string): Promise<number>;
  insert(job: NewJob): Promise<void>;
}

/** The broker's job store as submission uses it. */
export interface SubmissionStore {
  /** The consumer's job submitted earlier with this idempotency key. */
  byIdempotencyKey(consumerId: string, key: string): Promise<{ id: string; status: JobStatus } | null>;
  activeJobs(consumerId: string): Promise<ActiveJobs>;
  /**
   * Runs `work` in one transaction that admissions take one at a time (an advisory lock on PostgreSQL; SQLite has
   * one writer): committed when it returns, rolled back, with nothing stored or charged, when it throws.
   */
  admit<T>(work: (tx: AdmissionTx) => Promise<T>): Promise<T>;
}

export interface SubmitJobPorts {
  store: SubmissionStore;
  /** Checks a submission (JobsService.prepare): throws the error the consumer gets when it is not a job. */
  prepare(body: unknown, consumer: Principal): Promise<PreparedJob>;
  ledger: { record(e: Omit<UsageEvent, 'id' | 'at'> & { id?: string }): Promise<unknown> };
  /** Queues the job's flow; a failure leaves it to the reconciler (the job is stored). */
  enqueue(jobId: string): Promise<void>;
  limits: { maxActiveJobsPerConsumer: number; maxActiveJobs: number; retrySeconds: number };
  newId?: () => string;
  now?: () => Date;
}

export interface Submitted {
  id: string;
  status: JobStatus;
  created: boolean;
}

/**
 * Thrown inside the admission transaction to roll it back: a bound dataset's daily job limit reached, or a budget
 * that cannot cover the plan (the budgets charged before it are not kept).
 */
class AdmissionRefused extends Error {
  constructor(
    readonly details: ErrorDetail[],
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Submit-job: a consumer's submission becomes an accepted job, or a refusal with every reason, recorded either way.
 * In order: the idempotency key (a replay answers the job it made), admission control (backpressure), the
 * submission's checks and the bound datasets' policies (`prepare`), then one transaction that admits it again, charges
 * each bound dataset's privacy budget, stores the job and records `job.submitted`; last, its flow is queued.
 */
export class SubmitJob {
  private readonly newId: () => string;
  private readonly now: () => Date;

  constructor(private readonly ports: SubmitJobPorts) {
    this.newId = ports.newId ?? randomUUID;
    this.now = ports.now ?? (() => new Date());
  }

  async run(body: unknown, consumer: Principal, idempotencyKey?: string): Promise<Submitted> {
    const { store, ledger } = this.ports;
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1-200 visible ASCII characters', [
        { path: '$header.idempotency-key', message: 'invalid' },
      ]);
    }
    if (idempotencyKey) {
      const prior = await store.byIdempotencyKey(consumer.id, idempotencyKey);
      if (prior) return { ...prior, created: false };
    }
    // cheap refusal under load, before the plan is compiled; the check inside the transaction below decides
    const early = this.admissionRefusal(await store.activeJobs(consumer.id));
    if (early) throw early;
    const p = await this.ports.prepare(body, consumer);
    const id = this.newId();
    const base = {
      actor: { id: consumer.id, role: consumer.role },
      job: id,
      scenario: p.scenario.id,
      consumer: consumer.id,
      purpose: p.input.purpose,
      datasets: Object.values(p.input.bindings),
    };
    if (!p.decisions.every((d) => d.allow)) {
      await ledger.record({ ...base, id: `${id}.refused`, type: 'job.refused', data: { reasons: reasonCodes(p.decisions) } });
      throw new AppError(
        'POLICY_REFUSED',
        'the usage policy of a bound dataset refuses this job',
        p.decisions.flatMap((d) =>
          d.reasons.map((r) => ({ path: `$.bindings.${d.role}`, code: r.code, message: r.message, dataset: d.dataset })),
        ),
      );
    }
    const day = this.now().toISOString().slice(0, 10);
    try {
      await store.admit(async (tx) => {
        const busy = this.admissionRefusal(await tx.activeJobs(consumer.id));
        if (busy) throw busy;
        // decided again here, where admissions go one at a time: concurrent submissions all saw the count before
        await this.checkDailyLimits(tx, p, consumer, day);
        if (p.plan.epsilon > 0) await this.chargeBudgets(tx, p, consumer);
        await tx.insert({
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
          epsilon: p.plan.epsilon,
          idempotencyKey: idempotencyKey ?? null,
          day,
          datasets: Object.entries(p.offers).map(([role, o]) => ({ role, datasetId: o.datasetId })),
          privateParams: Object.fromEntries(Object.entries(p.input.privateParams).map(([n, b64]) => [n, Buffer.from(b64, 'base64')])),
        });
        // Last in the transaction: only a job whose rows went in is recorded; a ledger failure rolls them back.
        await ledger.record({
          ...base,
          id: `${id}.submitted`,
          type: 'job.submitted',
          data: { version: p.version, keyset: p.input.keyset, epsilon: p.plan.epsilon, bindings: p.input.bindings },
        });
      });
    } catch (e) {
      if (!(e instanceof AdmissionRefused)) throw e;
      await ledger.record({
        ...base,
        id: `${id}.refused`,
        type: 'job.refused',
        data: { reasons: e.details.map((r) => ({ dataset: r.dataset, code: r.code })) },
      });
      throw new AppError('POLICY_REFUSED', e.reason, e.details);
    }
    // Accepted and stored: if the queue is down right now, the reconciler queues it later; nothing is lost.
    await this.ports.enqueue(id).catch(() => undefined);
    return { id, status: INITIAL_JOB_STATUS, created: true };
  }

  /** Charges every bound dataset that has a budget; one that cannot cover the plan's epsilon refuses the job whole. */
  private async chargeBudgets(tx: AdmissionTx, p: PreparedJob, consumer: Principal): Promise<void> {
    const refusals: ErrorDetail[] = [];
    for (const [role, o] of Object.entries(p.offers)) {
      const budget = o.policy.epsilonBudget;
      if (budget === null || budget === undefined) continue;
      if (!(await tx.chargeBudget(o.datasetId, consumer.id, p.plan.epsilon, budget)))
        refusals.push({
          path: `$.bindings.${role}`,
          code: 'BUDGET_EXHAUSTED',
          message: `the privacy budget of dataset ${o.datasetId} cannot cover epsilon ${p.plan.epsilon}`,
          dataset: o.datasetId,
        });
    }
    if (refusals.length) throw new AdmissionRefused(refusals, 'the privacy budget of a bound dataset is exhausted');
  }

  /** A bound dataset's `jobsPerDay`, counted inside the admission (the policy decision counted before it, unlocked). */
  private async checkDailyLimits(tx: AdmissionTx, p: PreparedJob, consumer: Principal, day: string): Promise<void> {
    const refusals: ErrorDetail[] = [];
    for (const [role, o] of Object.entries(p.offers)) {
      if ((o.policy.jobsPerDay ?? null) === null) continue;
      const reason = dailyLimitReason(o.policy, await tx.jobsToday(o.datasetId, consumer.id, day));
      if (reason) refusals.push({ path: `$.bindings.${role}`, code: reason.code, message: reason.message, dataset: o.datasetId });
    }
    if (refusals.length) throw new AdmissionRefused(refusals, 'the usage policy of a bound dataset refuses this job');
  }

  /**
   * Admission control (backpressure): the accepted jobs that have not ended, this consumer's and all of them, against
   * MAX_ACTIVE_JOBS_PER_CONSUMER and MAX_ACTIVE_JOBS. A refusal stores, queues and charges nothing; the data space's
   * total is not disclosed to the consumer, only that it is full.
   */
  private admissionRefusal(active: ActiveJobs): AppError | null {
    const { maxActiveJobsPerConsumer, maxActiveJobs, retrySeconds } = this.ports.limits;
    if (active.mine >= maxActiveJobsPerConsumer) {
      return new AppError(
        'TOO_MANY_JOBS',
        `this consumer already has ${active.mine} jobs queued or running, the most it may have (MAX_ACTIVE_JOBS_PER_CONSUMER); retry when one has ended`,
        [{ path: '$', code: 'CONSUMER_JOB_LIMIT', message: `at most ${maxActiveJobsPerConsumer} jobs queued or running per consumer` }],
        retrySeconds,
      );
    }
    if (active.all >= maxActiveJobs) {
      return new AppError(
        'TOO_MANY_JOBS',
        'the data space has as many jobs queued or running as it accepts (MAX_ACTIVE_JOBS); retry later',
        [{ path: '$', code: 'QUEUE_FULL', message: 'the job queue is full' }],
        retrySeconds,
      );
    }
    return null;
  }
}

/** A new job's progress: every role pending (with its row count unless counts are withheld), evaluation pending. */
export function initialProgress(p: Pick<PreparedJob, 'offers' | 'countsWithheld'>): JobProgress {
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
    ...(p.countsWithheld ? { counts: 'withheld' as const } : {}),
  };
}

/** The refused datasets of a decision and their reason codes, as the ledger records them. */
export function reasonCodes(ds: DatasetDecision[]): { dataset: string; role: string; codes: string[] }[] {
  return ds.filter((d) => !d.allow).map((d) => ({ dataset: d.dataset, role: d.role, codes: d.reasons.map((r) => r.code) }));
}
