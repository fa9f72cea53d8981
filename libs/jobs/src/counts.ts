import type { JobProgress } from '#contracts';

/**
 * Whether a job was accepted with its row counts withheld from the consumer (the broker's `JobsService`, from
 * `withholdsCounts` and the plan's epsilon): its progress says so. Structural, so that this lib needs no TypeORM.
 */
export function countsWithheld(j: { readonly progress: Pick<JobProgress, 'counts'> }): boolean {
  return j.progress.counts === 'withheld';
}
