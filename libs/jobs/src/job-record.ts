import { type ErrorDetail, type JobStatus, isJobStatus, planSchema, zodDetails } from '#contracts';
import type { Plan } from '#scenario';

/**
 * A job as it is stored (table `jobs`, `JobEntity` in `#persistence`): the plan as the JSON value the database
 * gives back, the status as a string. Structural, so that this lib needs no TypeORM.
 */
export interface StoredJob {
  id: string;
  status: string;
  plan: unknown;
}

/** A stored job whose plan was checked against the protocol's plan schema and whose status is one of the states. */
export type JobRecord<R extends StoredJob = StoredJob> = Omit<R, 'plan' | 'status'> & { readonly plan: Plan; status: JobStatus };

/**
 * A stored job that is not one (a plan the schema refuses, a status that is no state): the broker's own data is
 * corrupt, so nothing is done with it. `details` name each problem by its JSON path, never its value.
 */
export class JobRecordError extends Error {
  readonly code = 'MALFORMED_JOB_RECORD';
  constructor(
    readonly jobId: string,
    readonly details: ErrorDetail[],
  ) {
    super(
      `job ${jobId} is stored malformed: ${details
        .slice(0, 5)
        .map((d) => `${d.path} ${d.message}`)
        .join('; ')}${details.length > 5 ? `; and ${details.length - 5} more` : ''}`,
    );
    this.name = 'JobRecordError';
  }
}

/**
 * Reads a stored job into a `JobRecord`: its plan parsed with `planSchema` (`#contracts`, the schema a provider
 * connector checks the same plan with), its status checked against the job states. The only way the broker gets a
 * typed plan out of the database.
 */
export function readJobRecord<R extends StoredJob>(row: R): JobRecord<R> {
  const details: ErrorDetail[] = [];
  const plan = planSchema.safeParse(row.plan);
  if (!plan.success) details.push(...zodDetails(plan.error.issues).map((d) => ({ ...d, path: `$.plan${d.path!.slice(1)}` })));
  if (!isJobStatus(row.status)) details.push({ path: '$.status', code: 'invalid_value', message: 'not a job status' });
  if (!plan.success || !isJobStatus(row.status)) throw new JobRecordError(row.id, details);
  return { ...row, plan: plan.data, status: row.status };
}
