import { AppError, type JobStatus, canTransition } from '#contracts';

/** A status change the job state machine (`JOB_TRANSITIONS`, `#contracts`) does not allow. */
export class JobTransitionError extends AppError {
  constructor(
    readonly jobId: string,
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super('CONFLICT', `job ${jobId} is ${from}: it cannot become ${to}`, [
      { path: '$.status', code: 'JOB_TRANSITION', message: `${from} -> ${to} is not a transition of the job state machine` },
    ]);
    this.name = 'JobTransitionError';
  }
}

/**
 * The one writer of a job's status: checks `job.status -> to` against the state machine and returns the patch that
 * sets it (`{ status: to }`), to be written in the same transaction as the read of `job` (and whatever else the step
 * changes: error, progress, outputs). Throws JobTransitionError, before anything is written, when the machine does
 * not allow it (an ended job never changes).
 */
export function transition(job: { readonly id: string; readonly status: JobStatus }, to: JobStatus): { readonly status: JobStatus } {
  if (!canTransition(job.status, to)) throw new JobTransitionError(job.id, job.status, to);
  return { status: to };
}
