import type { UsageEvent } from '#contracts';

/**
 * The `job.failed` usage event the broker records when it ends a job failed (the evaluation's failure, a private
 * set intersection below a policy's minimum): one id per job, so a retried failure is recorded once. `data` holds
 * reason codes and policy figures only, never a count of rows or keys.
 */
export function jobFailedEvent(
  job: { id: string; scenarioId: string; consumerId: string; bindings: Record<string, string> },
  data: Record<string, unknown>,
): Omit<UsageEvent, 'at'> {
  return {
    id: `${job.id}.failed`,
    type: 'job.failed',
    actor: { id: 'broker', role: 'broker' },
    job: job.id,
    scenario: job.scenarioId,
    consumer: job.consumerId,
    datasets: Object.values(job.bindings),
    data,
  };
}
