/**
 * The states of a data-space job and the transitions between them: the one definition the broker (which writes a
 * job's status, through `#jobs`), a provider connector (which refuses a task for a job that ended) and the SDK
 * (which waits for a job to end) share. In `#contracts` because the status is part of what the broker shows both.
 *
 *   queued ──► encrypting ──► evaluating ──► completed
 *     │            │              │
 *     └────────────┴──────────────┴──► failed | cancelled
 *
 * A job is stored `queued` when it is accepted (a refused submission stores no job: the refusal is a ledger event,
 * `job.refused`). Once ended (completed, failed, cancelled) a job never changes state again.
 */
export const JOB_STATUSES = ['queued', 'encrypting', 'evaluating', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The status a job is stored with when it is accepted. */
export const INITIAL_JOB_STATUS: JobStatus = 'queued';

/**
 * Allowed transitions, from each status. A running job may skip `encrypting` (no provider reported before the
 * evaluation started) and may be failed or cancelled in any running state; an ended job has no way out.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['encrypting', 'evaluating', 'failed', 'cancelled'],
  encrypting: ['evaluating', 'failed', 'cancelled'],
  evaluating: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

/** The statuses of an accepted job that has not ended (queued or running): what admission control counts. */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => JOB_TRANSITIONS[s].length > 0);
/** The statuses of a job that ended: it never changes again, and its inputs are gone. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => JOB_TRANSITIONS[s].length === 0);

/** Whether `s` is one of the job statuses (a document from elsewhere may carry any string). */
export function isJobStatus(s: string): s is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(s);
}

/** Whether a job in status `s` has ended. A string that is no job status has not (it is no state of the machine). */
export function isTerminalJobStatus(s: string): boolean {
  return isJobStatus(s) && JOB_TRANSITIONS[s].length === 0;
}

/**
 * Whether a job may go from `from` to `to`. Staying in a running status is allowed (a retried step reports the
 * state it is already in); staying in an ended one is not (nothing may be written to an ended job).
 */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return (from === to && JOB_TRANSITIONS[from].length > 0) || JOB_TRANSITIONS[from].includes(to);
}
