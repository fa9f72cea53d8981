/**
 * Usage events: every use of a dataset, recorded in the ledger. They carry references and decisions,
 * never plaintext values, keys or tokens.
 */
export type UsageEventType =
  | 'dataset.registered'
  | 'dataset.imported'
  | 'scenario.registered'
  | 'keyset.registered'
  | 'job.submitted'
  | 'job.refused'
  | 'job.dry-run'
  | 'inputs.encrypted'
  | 'inputs.refused'
  | 'job.evaluated'
  | 'job.released'
  | 'job.failed'
  | 'job.cancelled'
  | 'result.fetched'
  | 'budget.charged'
  | 'participant.added'
  | 'offer.published';

export interface UsageEvent {
  /** Unique id (idempotency key of the ledger queue). */
  id: string;
  type: UsageEventType;
  /** ISO 8601 time of the action. */
  at: string;
  actor: { id: string; role: string };
  job?: string;
  scenario?: string;
  datasets?: string[];
  consumer?: string;
  purpose?: string;
  /** Decision and reference data only (reason codes, counts, sizes, fingerprints). */
  data?: Record<string, unknown>;
}
